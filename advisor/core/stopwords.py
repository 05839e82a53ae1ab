"""Stop-word lists for BM25 and query terms, both languages' function words: the Dutch list as
bm25s ships it, the English one Snowball's (bm25s's English list has 33 words, so "how", "should",
"we", "more", "than", "other" of an English question were searched as terms where the Dutch
question's "hoe", "moet", "meer" were not; docs/eval/README.md, stop 30). Copied so that serving
does not depend on bm25s."""

DUTCH = frozenset(
    """
    aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een eens
    en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in is ja je
    kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat onder ons
    ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was wat werd wezen wie
    wil worden wordt zal ze zelf zich zij zijn zo zonder zou
    """.split()
)

ENGLISH = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing would should could
    ought a an the and but if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over under again further
    then once here there when where why how all any both each few more most other some such no nor not
    only own same so than too very
    """.split()
)

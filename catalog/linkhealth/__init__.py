"""Link health: an SSRF-safe concurrent link checker, link states from a
stored history of checks, and GitHub repository enrichment.

`guard` decides which addresses may be fetched, `checker` fetches (asyncio and
aiohttp), `states` turns a check into an entry's link state, `runs` walks the
catalog resumably and stores every check, `github` keeps repository figures.
Curators' writes live in `catalog.services.linkhealth`.
"""

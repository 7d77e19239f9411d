"""Query/retrieve over the local archive: attribute matching and the C-FIND / C-MOVE / C-GET answers."""

"""Knowledge bases' text work, with no database writes: file types by content (`filetypes`), text extraction
(`extract`), splitting into chunks (`split`), normalisation and tokens (`normalize`) and retrieval (`retrieval`)."""

// placeholder: filled by the AEAD work

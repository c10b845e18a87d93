// placeholder: filled by the public-key work

"""Developer tools beside the build: the semantic diff of generated/ (`review`) and the native
stack (`local`). They may use the build; the build never imports them."""

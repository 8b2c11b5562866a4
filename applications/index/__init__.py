"""The home application: the page at /, the site layout (views/base.tpl) and the site's CSS."""

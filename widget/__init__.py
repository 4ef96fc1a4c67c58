"""The player widget (widget.js, its catalogs and the demo page), shipped as package data."""

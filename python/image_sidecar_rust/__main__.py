"""``python -m image_sidecar_rust``: the command line."""

from image_sidecar_rust._cli import main

main()

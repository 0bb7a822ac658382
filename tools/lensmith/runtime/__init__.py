"""The runtime every layer may import: the image store, the weights resolver, devices,
progress, home paths, errors, artifacts, the tool contract and the one vocabulary.

It knows no tool, no planner and no UI; ``lensmith.tools`` (the vision tools, the
registry, the MCP server) sits beside it.
"""

"""The 一网通办 portal: the pages an audience sees, served by the gateway at ``/`` (docs/portal.md).

One HTML shell and vanilla-JS modules (no build step, nothing from the network) that call the gateway's own JSON
API with the signed-in user's bearer token. The portal is not part of the API contract: its routes stay out of the
OpenAPI document.
"""

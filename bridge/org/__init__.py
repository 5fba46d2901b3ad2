"""The organisation as the bridge sees it: who works here, on which shift, who is an
administrator (read from the directory that provisioning maintains)."""

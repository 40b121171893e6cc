module hcb.local/tools/hosts

go 1.26.0

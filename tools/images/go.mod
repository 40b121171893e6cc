module hcb.local/tools/images

go 1.26.0

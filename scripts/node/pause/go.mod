module huleedu.local/pause

go 1.26

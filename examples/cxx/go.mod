module example.com/cxx

go 1.22

module example.com/clib-chain

go 1.22

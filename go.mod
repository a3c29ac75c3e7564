module github.com/recyclegate/recyclegate

go 1.26.8

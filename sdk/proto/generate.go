// Package proto holds the wire contract between the host and provider
// plugins. Provider authors never use it directly: sdk.Serve and the host (sdk/rpc)
// speak it for them. Read providerv1/provider.proto for the contract.
package proto

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative providerv1/provider.proto

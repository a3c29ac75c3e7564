//go:build !unix

package providercheck

import (
	"context"
	"errors"
)

func (r *run) startPlugin(context.Context) (*instance, error) {
	return nil, errors.New("checking a plugin binary needs a unix system; check the .wasm build of the provider here")
}

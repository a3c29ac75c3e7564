package orderstore

import (
	"context"
	"fmt"
)

// SetUserVersion sets the SQLite schema version (tests of a newer schema).
func (s *SQLite) SetUserVersion(ctx context.Context, v int) error {
	_, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v))
	return err
}

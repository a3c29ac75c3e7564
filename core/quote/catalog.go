package quote

import (
	"context"
	"fmt"

	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/sdk"
)

// Catalog look-ups are a tenant's calls like quotes: the provider named,
// the gate clears it (the tenant's entitlement, the compliance rules of
// kind catalog), the tenant's quotas count the call and its audit log
// files it.

// catalogCall resolves the provider and clears the call.
func (s *Service) catalogCall(ctx context.Context, tenant *invoke.Tenant, id string, audit map[string]string) (*invoke.Call, error) {
	if !s.inv.Has(id) {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Field: "provider", Message: fmt.Sprintf("no provider %q (GET /v1/providers lists them)", id)}
	}
	pass, err := s.gate.Catalog(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &invoke.Call{Tenant: tenant, Pass: pass, Audit: audit}, nil
}

// SearchCatalog searches provider id's catalog for tenant.
func (s *Service) SearchCatalog(ctx context.Context, tenant *invoke.Tenant, id string, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	c, err := s.catalogCall(ctx, tenant, id, map[string]string{"query": req.Query, "kind": req.Kind})
	if err != nil {
		return nil, err
	}
	return s.inv.SearchCatalog(ctx, id, c, req)
}

// GetCatalogItem reads one entry of provider id's catalog for tenant.
func (s *Service) GetCatalogItem(ctx context.Context, tenant *invoke.Tenant, id string, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	c, err := s.catalogCall(ctx, tenant, id, map[string]string{"item_id": req.ID, "kind": req.Kind})
	if err != nil {
		return nil, err
	}
	return s.inv.GetCatalogItem(ctx, id, c, req)
}

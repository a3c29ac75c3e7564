package core

// MaskForTest exposes the audit log's text masking to the tests.
var MaskForTest = maskText

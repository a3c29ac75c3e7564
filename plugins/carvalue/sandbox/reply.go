package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
)

// An ordered reply tree, written as JSON, XML or JSONP with the same field
// order. Values are string, num (a JSON number written as is), obj, list
// or nil.
type (
	field struct {
		k string
		v any
	}
	obj  []field
	list []any
	num  string
)

// Formats the sandbox answers in.
const (
	formatJSON  = "json"
	formatXML   = "xml"
	formatJSONP = "jsonp"
)

// defaultCallback is the JSONP callback when the request names none.
const defaultCallback = "jsonpReturn"

func writeJSONValue(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case num:
		b.WriteString(string(t))
	case string:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(t)
		b.Truncate(b.Len() - 1) // Encode adds a newline
	case obj:
		b.WriteByte('{')
		for i, f := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, f.k)
			b.WriteByte(':')
			writeJSONValue(b, f.v)
		}
		b.WriteByte('}')
	case list:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, e)
		}
		b.WriteByte(']')
	}
}

func writeXMLValue(b *bytes.Buffer, name string, v any) {
	b.WriteString("<" + name + ">")
	switch t := v.(type) {
	case num:
		_ = xml.EscapeText(b, []byte(t))
	case string:
		_ = xml.EscapeText(b, []byte(t))
	case obj:
		for _, f := range t {
			writeXMLValue(b, f.k, f.v)
		}
	case list:
		for _, e := range t {
			writeXMLValue(b, "item", e)
		}
	}
	b.WriteString("</" + name + ">")
}

// encode writes a reply in the format: JSON; XML under a <root> element with
// list entries as <item>; JSONP as callback(JSON);
func encode(format, callback string, reply obj) (body []byte, contentType string) {
	var b bytes.Buffer
	switch format {
	case formatXML:
		b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
		writeXMLValue(&b, "root", reply)
		return b.Bytes(), "text/xml; charset=utf-8"
	case formatJSONP:
		b.WriteString(callback + "(")
		writeJSONValue(&b, reply)
		b.WriteString(");")
		return b.Bytes(), "application/javascript; charset=utf-8"
	}
	writeJSONValue(&b, reply)
	return b.Bytes(), "application/json; charset=utf-8"
}

// envelope is the provider's reply: codeid, message, retdata, time.
func envelope(code int, message string, retdata any, time string) obj {
	if retdata == nil {
		retdata = list{}
	}
	return obj{{"codeid", num(strconv.Itoa(code))}, {"message", message}, {"retdata", retdata}, {"time", time}}
}

func write(w http.ResponseWriter, format, callback string, reply obj) {
	body, ct := encode(format, callback, reply)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

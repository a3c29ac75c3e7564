package carvalue

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
)

// CodeSuccess is the provider's success status; a reply with it is billed.
const CodeSuccess = 10000

// Status is the meaning of one of the provider's codeid values.
type Status struct {
	Code      sdk.Code // the sdk error code it maps to
	Retryable bool     // whether the same call may succeed later
	Text      string   // the document's own text
	Meaning   string   // what it means for a caller, and what to do
}

// Statuses is the provider's status table (codeid), as the document lists
// it, and the sdk error each maps to. 10000 is success (billed); 10016 is not
// in the document and, like any code missing here, is a provider_error.
var Statuses = map[int]Status{
	10001: {sdk.CodeUnauthenticated, false, "appid必须指定,可以我的应用里面查看", "appid missing: set the appid config key"},
	10002: {sdk.CodeUnauthenticated, false, "sign值必须指定,加密规则请前往帮助中心查看", "sign missing: check the secret and sign_mode config keys"},
	10003: {sdk.CodeUnauthenticated, false, "sign值验证不通过,加密规则请前往帮助中心查看", "signature refused: the secret or sign_mode does not match the account"},
	10004: {sdk.CodeUnauthenticated, false, "时差不能超过10分钟,可以不传递这个参数,注意时间戳单位是秒", "request time more than 10 minutes off the provider's clock: check the host clock (NTP)"},
	10005: {sdk.CodeUnauthenticated, false, "appid错误,请检查appid值,前往会员中心->我的应用查看或添加", "unknown appid: check the appid config key"},
	10006: {sdk.CodeForbidden, false, "当前IP地址未授权,请前往用户中心->我的应用添加ip{@info}", "this host's IP address is not on the account's allow-list: add it in the provider's console"},
	10007: {sdk.CodeForbidden, false, "应用被禁用,请联系客服处理", "the application is disabled by the provider: contact the provider"},
	10008: {sdk.CodeForbidden, false, "应用内没有该接口,请到我的应用里面添加这个接口", "the application does not include this API: add it to the application in the provider's console"},
	10009: {sdk.CodeNotFound, false, "api接口不存在", "no API at this path: check the path (or look-up path) config key"},
	10010: {sdk.CodeForbidden, false, "您没有添加该api接口", "the account has not added this API: add it in the provider's console"},
	10011: {sdk.CodeQuotaExhausted, false, "api已经到期", "the purchased call package has expired: buy a new one"},
	10012: {sdk.CodeForbidden, false, "没有订购任何api,请前往购买后再操作", "the account has not subscribed to any API: buy a package first"},
	10013: {sdk.CodeUnavailable, true, "该接口已经暂停使用", "the API is suspended by the provider for now"},
	10014: {sdk.CodeProviderError, false, "未知的错误,可以联系客服处理", "unknown provider error: contact the provider if it persists"},
	10015: {sdk.CodeInvalidArgument, false, "参数个数错误", "a required parameter is missing or there are too many"},
	10017: {sdk.CodeInvalidArgument, false, "time必须是整型", "time must be an integer number of seconds"},
	10018: {sdk.CodeQuotaExhausted, false, "次数不足", "the account has no calls left: buy more calls"},
	10019: {sdk.CodeInvalidArgument, false, "{@info}", "the provider refused a parameter value (see its message)"},
	10020: {sdk.CodeNotFound, false, "子接口不存在,可能已经被关闭", "the sub-API does not exist or was closed: check the path config keys"},
	10021: {sdk.CodeUnavailable, true, "服务器发生错误", "the provider's server failed: retry later"},
	10022: {sdk.CodeQuotaExhausted, false, "帐户余额不足,请充值!", "the account balance is spent: top it up"},
	10023: {sdk.CodeUnavailable, true, "订单提交成功,等待回调结果", "the provider queued the valuation instead of answering it: retry later"},
	10024: {sdk.CodeProviderError, false, "调试模式数据", "the application is in debug mode and answers test data, not a valuation: switch it to production"},
	10025: {sdk.CodeNotFound, false, "查无数据", "the provider has no data for this car (type, city or registration)"},
}

// StatusError converts a non-success codeid and the provider's message into
// an *sdk.Error keeping both in ProviderCode / ProviderMessage.
func StatusError(codeid int, message string) *sdk.Error {
	st, ok := Statuses[codeid]
	if !ok {
		st = Status{Code: sdk.CodeProviderError, Meaning: "status code not in the provider's document"}
	}
	return &sdk.Error{
		Code:            st.Code,
		Message:         fmt.Sprintf("carvalue status %d: %s", codeid, st.Meaning),
		Retryable:       st.Retryable,
		ProviderCode:    strconv.Itoa(codeid),
		ProviderMessage: message,
	}
}

// reply is a decoded provider reply, whatever its format.
type reply struct {
	codeid  int
	message string
	retdata any    // object, array, string or nil
	time    string // the time the provider echoed, if any
	top     map[string]any
	raw     json.RawMessage // the reply as JSON (XML converted, JSONP unwrapped)
}

// malformed is a provider_error for a reply of the wrong shape.
func malformed(format string, args ...any) *sdk.Error {
	return sdk.Errorf(sdk.CodeProviderError, "carvalue: malformed reply: "+format, args...)
}

var jsonpPattern = regexp.MustCompile(`(?s)^(?:/\*\*/)?\s*[A-Za-z_$][A-Za-z0-9_$.]*\s*\((.*)\)\s*;?\s*$`)

// decodeReply reads a JSON, XML or JSONP body (told apart by its first
// character, whatever format was asked for) into a reply.
func decodeReply(body []byte) (*reply, error) {
	b := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return nil, malformed("empty body")
	}
	var tree any
	var raw json.RawMessage
	switch {
	case b[0] == '{' || b[0] == '[':
		v, err := decodeJSON(b)
		if err != nil {
			return nil, malformed("json: %v", err)
		}
		tree, raw = v, json.RawMessage(b)
	case b[0] == '<':
		v, err := decodeXML(b)
		if err != nil {
			return nil, malformed("xml: %v", err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, malformed("xml: %v", err)
		}
		tree, raw = v, j
	default:
		m := jsonpPattern.FindSubmatch(b)
		if m == nil {
			return nil, malformed("neither JSON, XML nor JSONP: %s", httpkit.Snippet(b))
		}
		inner := bytes.TrimSpace(m[1])
		v, err := decodeJSON(inner)
		if err != nil {
			return nil, malformed("jsonp: %v", err)
		}
		tree, raw = v, json.RawMessage(inner)
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, malformed("the top level is not an object")
	}
	r := &reply{top: top, raw: raw}
	c, ok := top["codeid"]
	if !ok {
		return nil, malformed("no codeid")
	}
	code, ok := intOf(c)
	if !ok {
		return nil, malformed("codeid %v is not an integer", c)
	}
	r.codeid = code
	r.message, _ = textOf(top["message"])
	r.retdata = top["retdata"]
	r.time, _ = textOf(top["time"])
	return r, nil
}

func decodeJSON(b []byte) (any, error) {
	var v any
	err := httpkit.DecodeJSON(b, &v)
	return v, err
}

// xmlNode is an element while an XML reply is read.
type xmlNode struct {
	name     string
	text     strings.Builder
	children []*xmlNode
}

// decodeXML reads an XML reply into the same shape a JSON reply decodes to.
// The root element's name does not matter. An element with child elements
// is an object, unless its children all share one name and there are
// several of them or it is named "item", then it is an array; an element
// with text only is a string.
func decodeXML(b []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root != nil {
				return nil, errors.New("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	if len(stack) != 0 {
		return nil, errors.New("unclosed element")
	}
	return root.value(), nil
}

func (n *xmlNode) value() any {
	if len(n.children) == 0 {
		return strings.TrimSpace(n.text.String())
	}
	same := true
	for _, c := range n.children[1:] {
		if c.name != n.children[0].name {
			same = false
			break
		}
	}
	if same && (len(n.children) > 1 || n.children[0].name == "item") {
		arr := make([]any, len(n.children))
		for i, c := range n.children {
			arr[i] = c.value()
		}
		return arr
	}
	obj := make(map[string]any, len(n.children))
	for _, c := range n.children {
		obj[c.name] = c.value()
	}
	return obj
}

// intOf reads an integer sent as a JSON number or a string.
func intOf(v any) (int, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = string(t)
	case string:
		s = strings.TrimSpace(t)
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// textOf reads a scalar as text.
func textOf(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return string(t), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// wanAmount reads a price in 万元 ("28.16", 28.16, "39.88万") exactly into
// fen. A text ending in 元 alone is read as yuan.
func wanAmount(v any) (int64, error) {
	var fen int64
	var err error
	switch t := v.(type) {
	case json.Number:
		fen, err = sdk.ParseAmount(string(t), sdk.UnitWan)
	case string:
		if strings.TrimSpace(t) == "" {
			return 0, errors.New("empty")
		}
		fen, err = sdk.ParseAmount(t, sdk.UnitWan) // a text ending in 元 is yuan
	case nil:
		return 0, errors.New("missing")
	default:
		return 0, fmt.Errorf("%v is not a number", v)
	}
	if err != nil {
		return 0, err
	}
	if fen < 0 {
		return 0, fmt.Errorf("negative amount %v", v)
	}
	return fen, nil
}

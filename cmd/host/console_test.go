package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/recyclegate/recyclegate/core/api/apitest"
)

// The console's tests drive the page in a real browser: Debian's
// chromium, headless, started once for this package on first use and
// stopped by TestMain (stopBrowser). It listens for the tests on loopback
// only (its DevTools port), and loads nothing but the host under test.

var screenshots = flag.String("console.screenshots", "", "also save the console tests' screenshots in this folder (docs/console to refresh the committed ones)")

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

// chromiumPath finds Debian's chromium.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium is not installed: the console's browser tests need it; run bash scripts/test.sh, which installs Debian's chromium package")
}

// browserTab opens a tab of the package's browser, closed when t ends.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			browserErr = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // the tests may run as root, where Chromium's sandbox refuses to start
			chromedp.WindowSize(1280, 860),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("no-proxy-server", true),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil {
			cancel()
			cancelAlloc()
			browserErr = fmt.Errorf("starting chromium (%s): %w", path, err)
			return
		}
		browserCtx = ctx
		browserCancel = func() { cancel(); cancelAlloc() }
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	tab, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	// The tab lives as long as the context of its first run: one with no
	// timeout (each action then gets its own).
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// stopBrowser ends the package's browser, if a test started it, and
// passes the exit code on.
func stopBrowser(code int) int {
	if browserCancel != nil {
		browserCancel()
	}
	return code
}

// consoleHost is `host serve` with every built-in provider on its sandbox
// and a copy of the repository's policies, in a folder the test may write,
// behind a proxy that checks every API exchange the page makes against the
// OpenAPI document.
func consoleHost(t *testing.T) (*runningHost, string, string) {
	t.Helper()
	dir := t.TempDir()
	policies := filepath.Join(dir, "policies")
	if err := os.CopyFS(policies, os.DirFS("../../policies")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "host.yaml")
	yaml := fmt.Sprintf(`store: memory
policies: %s
tenants:
  - id: demo
    api_keys: [demo]
    admin: true
  - id: shop
    api_keys: [shop-key-0123456789]
providers:
  - id: aihuishou
    sandbox: true
  - id: carvalue
    sandbox: true
  - id: alibaba1688
    sandbox: true
`, policies)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, hostBinary(t), "--config", cfg)
	target, _ := url.Parse("http://" + h.addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // batch answers stream
	checked := apitest.Handler(t, proxy)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, "/console/") {
			proxy.ServeHTTP(w, r) // the page's files are not API operations
			return
		}
		checked.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return h, srv.URL, policies
}

// unlabelled lists the page's controls that have no accessible name: an
// input, select or textarea without a label or aria-label, a button or
// link without text.
const unlabelled = `[...document.querySelectorAll('input, select, textarea, button, a[href]')]
	.filter((e) => e.type !== 'hidden' && !e.closest('[hidden]'))
	.filter((e) => ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName)
		? !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')
		: !e.textContent.trim() && !e.getAttribute('aria-label'))
	.map((e) => e.outerHTML.slice(0, 120))`

// shot checks that every control of the page has a label, and saves a
// screenshot of it as name.png in the test's artifact folder (and in
// -console.screenshots).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if bad := eval[[]string](t, ctx, unlabelled); len(bad) > 0 {
		t.Errorf("page %s: controls without a label: %v", name, bad)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{t.ArtifactDir()}
	if *screenshots != "" {
		dirs = append(dirs, *screenshots)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// browse runs browser actions, failing the test with what was being done
// and what the page says.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		t.Fatalf("%s: %v\nthe page says:\n%s", what, err, clipText(body))
	}
}

// eval answers a JavaScript expression's value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// textOf answers the text of the first element sel matches.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent`, sel))
}

func clipText(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

// pageTrue waits until a JavaScript expression is true on the page.
func pageTrue(expr string) chromedp.Action[chromedp.Void] {
	p := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := p(ctx, t)
		return chromedp.Void{}, err
	}
}

// js runs a JavaScript statement.
func js(expr string) chromedp.Action[chromedp.Void] {
	e := chromedp.Evaluate[any](expr)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := e(ctx, t)
		return chromedp.Void{}, err
	}
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// TestConsoleInABrowser follows an operator through the console: sign in,
// the providers live (a plugin killed and restarted), a policy error typed
// and marked at its line, fixed, dry-run, saved and in force, a quote
// routed by it, an order made and followed, a batch of 20 rows and its
// report, the audit log.
func TestConsoleInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the host and a browser")
	}
	h, base, policyDir := consoleHost(t)
	ctx := browserTab(t)

	// Sign in with the demo tenant's key, from the keyboard.
	browse(t, ctx, "opening the console",
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(css("#api-key")))
	shot(t, ctx, "signin")
	browse(t, ctx, "signing in",
		chromedp.SendKeys(css("#api-key"), "demo\r"),
		chromedp.WaitVisible(css("#nav-policies")))
	if addr := eval[string](t, ctx, `location.href`); strings.Contains(addr, "demo") {
		t.Fatalf("the API key is in the address: %s", addr)
	}

	t.Run("providers", func(t *testing.T) {
		browse(t, ctx, "waiting for three providers ready",
			pageTrue(`document.querySelectorAll('#providers tr[data-state="ready"]').length === 3`))
		shot(t, ctx, "providers")
		pidText := textOf(t, ctx, `tr[data-provider="aihuishou"] [data-field="pid"]`)
		pid, err := strconv.Atoi(strings.TrimSpace(pidText))
		if err != nil || pid <= 0 {
			t.Fatalf("aihuishou's pid on the page: %q", pidText)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		browse(t, ctx, "waiting for the page to show aihuishou restarted",
			pageTrue(fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-provider="aihuishou"]');
				return !!r && r.dataset.state === 'ready' && r.querySelector('[data-field="restarts"]').textContent === '1'
					&& r.querySelector('[data-field="pid"]').textContent !== '%d'; })()`, pid)))
		shot(t, ctx, "providers-restarted")
	})

	var revision string
	t.Run("policies", func(t *testing.T) {
		// A quote the host records for replay: the editor offers it for a
		// dry run and counts what an edit would change of it.
		if st, body, _ := h.post(t, "/v1/quotes", "shop-key-0123456789", `{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"}}`, time.Minute); st != http.StatusOK {
			t.Fatalf("a quote to record: %d %v", st, body)
		}
		browse(t, ctx, "opening the policies",
			chromedp.Click(css("#nav-policies")),
			chromedp.WaitVisible(css("#policy-editor")),
			chromedp.Click(css(`button[data-file="routing.yaml"]`)),
			pageTrue(`document.querySelector('#policy-check-status').dataset.ok === 'true'`))
		revision = textOf(t, ctx, "#policy-revision")
		// Type a new rule at the top of the routing rules, with a typo.
		at := eval[int](t, ctx, `(() => { const e = document.querySelector('#policy-editor');
				const i = e.value.indexOf('routing:\n') + 'routing:\n'.length;
				e.focus(); e.setSelectionRange(i, i); return e.value.slice(0, i).split('\n').length; })()`)
		rule := "  - name: phones-everywhere\n    description: Phones are asked of every provider that quotes them.\n" +
			"    when: requst.item.category == 'phone'\n    providers: [\"*\"]\n    strategy: all\n\n"
		browse(t, ctx, "typing a rule", chromedp.KeyEvent(rule),
			pageTrue(fmt.Sprintf(`document.querySelector('#policy-editor').value.includes(%q)`, rule)))
		errLine := at + 2 // the when: line
		// The page checks as the operator types: wait for the check of the
		// whole rule (an earlier one may have seen half of it).
		browse(t, ctx, "waiting for the error to be marked",
			pageTrue(fmt.Sprintf(`[...document.querySelectorAll('#policy-diagnostics .diag[data-line="%d"]')].some((d) => d.textContent.includes('requst'))`, errLine)),
			pageTrue(fmt.Sprintf(`!!document.querySelector('#policy-gutter span.error[data-line="%d"]')`, errLine)))
		diag := eval[string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('#policy-diagnostics .diag[data-line="%d"]')].map((d) => d.textContent).join('\n')`, errLine))
		if want := fmt.Sprintf("routing.yaml:%d:11: rule phones-everywhere: ", errLine); !strings.Contains(diag, want) || !strings.Contains(diag, "requst") {
			t.Fatalf("the diagnostic %q does not say %q about requst", diag, want)
		}
		if eval[bool](t, ctx, `!document.querySelector('#policy-save').disabled`) {
			t.Fatal("Save is enabled while the file does not compile")
		}
		shot(t, ctx, "policies-error")

		// Fix it: select the typo and type the right word.
		browse(t, ctx, "fixing the typo",
			js(`(() => { const e = document.querySelector('#policy-editor'); const i = e.value.indexOf('requst');
				e.focus(); e.setSelectionRange(i, i + 'requst'.length); })()`),
			chromedp.KeyEvent("request"),
			pageTrue(`document.querySelector('#policy-check-status').dataset.ok === 'true'`),
			pageTrue(`!document.querySelector('#policy-gutter span.error')`))

		// Before Save: what the edit would change of the recorded decisions.
		browse(t, ctx, "waiting for what the edit would change",
			pageTrue(`Number((document.querySelector('#policy-impact') || {dataset: {}}).dataset.changed) >= 1`))
		if impact := textOf(t, ctx, "#policy-impact"); !regexp.MustCompile(`^This edit would change [1-9][0-9]* of the last [1-9][0-9]* decisions \(.*phones-everywhere.*\)`).MatchString(impact) {
			t.Fatalf("the editor says %q of the edit's changes", impact)
		}
		shot(t, ctx, "policies-impact")
		browse(t, ctx, "dry-running the recorded request",
			pageTrue(`document.querySelectorAll('#policy-recorded option[data-id]').length >= 1`),
			js(`(() => { const s = document.querySelector('#policy-recorded');
				s.value = [...s.options].find((o) => o.textContent.includes('shop: phone Apple iPhone 14 Pro')).value; })()`),
			chromedp.Click(css("#policy-dry-run-recorded")),
			pageTrue(`(document.querySelector('#policy-recorded-result [data-field="route-rule"]') || {}).textContent === 'phones-everywhere'`))
		browse(t, ctx, "showing the recorded dry run", js(`document.querySelector('#policy-recorded-result').scrollIntoView()`))
		shot(t, ctx, "policies-recorded-dry-run")

		browse(t, ctx, "dry-running a phone",
			chromedp.Click(css("#policy-dry-run")),
			pageTrue(`(document.querySelector('#policy-dry-run-result [data-field="route-rule"]') || {}).textContent === 'phones-everywhere'`))
		browse(t, ctx, "running the test cases",
			chromedp.Click(css("#policy-run-tests")),
			chromedp.WaitVisible(css("#policy-tests-summary")))
		browse(t, ctx, "showing the dry run", js(`document.querySelector('#policy-dry-run-result').scrollIntoView()`))
		shot(t, ctx, "policies-dry-run")

		browse(t, ctx, "saving",
			chromedp.Click(css("#policy-save")),
			chromedp.WaitVisible(css("#policy-saved")),
			pageTrue(fmt.Sprintf(`document.querySelector('#policy-revision').textContent !== %q`, revision)))
		revision = textOf(t, ctx, "#policy-revision")
		st, body := h.get(t, "/v1/policies", "demo")
		if st != http.StatusOK || !strings.Contains(body, `"revision":"`+revision+`"`) {
			t.Fatalf("the host's revision in force is not the page's %s: %d %s", revision, st, body)
		}
		shot(t, ctx, "policies-saved")
	})

	t.Run("playground and orders", func(t *testing.T) {
		browse(t, ctx, "asking for quotes",
			chromedp.Click(css("#nav-playground")),
			chromedp.WaitVisible(css("#get-quotes")),
			chromedp.Click(css("#get-quotes")),
			pageTrue(`!!document.querySelector('#quote-route [data-field="route-rule"]')`))
		rule, rev := textOf(t, ctx, `#quote-route [data-field="route-rule"]`), textOf(t, ctx, `#quote-route [data-field="revision"]`)
		if rule != "policy: phones-everywhere" || rev != revision {
			t.Fatalf("the quote was routed by %s at revision %s, want phones-everywhere at %s", rule, rev, revision)
		}
		browse(t, ctx, "showing the quotes", js(`document.querySelector('#quote-route').scrollIntoView()`))
		shot(t, ctx, "playground")
		browse(t, ctx, "ordering the first orderable quote",
			chromedp.Click(css(`#quotes button[data-action="order"]`)),
			chromedp.WaitVisible(css(`button[data-action="create-order"]`)),
			chromedp.Click(css(`button[data-action="create-order"]`)),
			chromedp.WaitVisible(css("#order-created a")))
		orderID := eval[string](t, ctx, `document.querySelector('#order-created a').dataset.orderId`)
		if orderID == "" {
			t.Fatal("no order id on the page")
		}
		browse(t, ctx, "following the order",
			chromedp.Click(css("#order-created a")),
			pageTrue(fmt.Sprintf(`(document.querySelector('#order-detail') || {dataset: {}}).dataset.orderId === %q
				&& !!document.querySelector('#order-history li')`, orderID)),
			pageTrue(`!!document.querySelector('#order-webhooks')`))
		if wh := textOf(t, ctx, "#order-webhooks"); !strings.HasPrefix(wh, "No webhook event") {
			t.Fatalf("a new order of a tenant without a webhook_url shows deliveries: %q", wh)
		}
		shot(t, ctx, "order")
		browse(t, ctx, "listing the orders",
			chromedp.Click(css("#nav-orders")),
			pageTrue(fmt.Sprintf(`!!document.querySelector('#orders-list tr[data-order-id=%q]')`, orderID)))
		shot(t, ctx, "orders")
	})

	t.Run("batch", func(t *testing.T) {
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("asset_tag,category,brand,model,storage,condition\n")
		for i := range 20 {
			model := []string{"iPhone 14 Pro", "iPhone 13", "iPhone 15"}[i%3]
			fmt.Fprintf(&b, "A-%03d,phone,Apple,%s,256GB,excellent\n", i+1, model)
		}
		csv := filepath.Join(dir, "devices.csv")
		if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		downloads := filepath.Join(dir, "downloads")
		if err := os.Mkdir(downloads, 0o755); err != nil {
			t.Fatal(err)
		}
		done := make(chan string, 1)
		if err := chromedp.ListenBrowser(ctx, func(ev any) {
			if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
				select {
				case done <- e.GUID:
				default:
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		on := true
		if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &on}); err != nil {
			t.Fatal(err)
		}
		browse(t, ctx, "uploading the list",
			chromedp.Click(css("#nav-batch")),
			chromedp.WaitVisible(css("#batch-file")),
			chromedp.SetUploadFiles(css("#batch-file"), []string{csv}),
			chromedp.WaitVisible(css("#batch-loaded")),
			chromedp.Click(css("#batch-start")),
			chromedp.WaitVisible(css("#batch-download")))
		progress, summary := textOf(t, ctx, "#batch-counts"), textOf(t, ctx, "#batch-summary")
		if progress != "20 of 20 answered" || !strings.HasPrefix(summary, "20 quoted") {
			t.Fatalf("progress %q, summary %q", progress, summary)
		}
		shot(t, ctx, "batch")
		browse(t, ctx, "downloading the report", chromedp.Click(css("#batch-download")))
		var guid string
		select {
		case guid = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the report was not downloaded within 30s")
		}
		report, err := os.ReadFile(filepath.Join(downloads, guid))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(report)), "\r\n")
		if len(lines) != 21 || !strings.HasPrefix(lines[0], "line,asset_tag,category,brand,model,storage,condition,status,price_yuan") {
			t.Fatalf("report (%d lines):\n%s", len(lines), report)
		}
		for _, l := range lines[1:] {
			if !strings.Contains(l, ",quoted,") {
				t.Errorf("a row without a quote: %s", l)
			}
		}

		// The same report as a workbook, made by the API.
		browse(t, ctx, "downloading the report as XLSX", chromedp.Click(css("#batch-download-xlsx")))
		select {
		case guid = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the XLSX report was not downloaded within 30s")
		}
		wb, err := excelize.OpenFile(filepath.Join(downloads, guid))
		if err != nil {
			t.Fatalf("the XLSX report: %v", err)
		}
		xrows, _ := wb.GetRows("Report")
		sum, _ := wb.GetRows("Summary")
		_ = wb.Close()
		if len(xrows) != 21 || strings.Join(xrows[0][:8], ",") != "line,asset_tag,category,brand,model,storage,condition,status" ||
			xrows[1][7] != "quoted" || len(sum) < 2 || strings.Join(sum[2][:2], ",") != "quoted,20" {
			t.Fatalf("the XLSX report: %d rows, header %v, first %v, summary %v", len(xrows), xrows[0], xrows[1], sum)
		}

		// A workbook is read as well: its first sheet, shared strings and numbers.
		f := excelize.NewFile()
		for i, row := range [][]any{{"category", "brand", "model", "storage", "condition", "condition_score"},
			{"phone", "Apple", "iPhone 13", "128GB", "good", 8}, {"phone", "Apple", "iPhone 15", "256GB", "excellent", 9.5}} {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
				t.Fatal(err)
			}
		}
		xlsx := filepath.Join(dir, "devices.xlsx")
		if err := f.SaveAs(xlsx); err != nil {
			t.Fatal(err)
		}
		browse(t, ctx, "uploading a workbook",
			chromedp.SetUploadFiles(css("#batch-file"), []string{xlsx}),
			pageTrue(`(document.querySelector('#batch-loaded') || {}).textContent?.startsWith('devices.xlsx: 2 device(s)')`),
			chromedp.Click(css("#batch-start")),
			pageTrue(`(document.querySelector('#batch-summary') || {}).textContent?.startsWith('2 quoted')`))
		shot(t, ctx, "batch-xlsx")
	})

	t.Run("audit", func(t *testing.T) {
		browse(t, ctx, "opening the audit log",
			chromedp.Click(css("#nav-audit")),
			pageTrue(`!!document.querySelector('#audit-list tbody tr')`))
		if all := textOf(t, ctx, "#audit-list"); strings.Contains(all, "上海市") {
			t.Fatal("the audit log shows an address")
		}
		shot(t, ctx, "audit")
	})

	t.Run("policy changed behind the page", func(t *testing.T) {
		browse(t, ctx, "opening routing.yaml",
			chromedp.Click(css("#nav-policies")),
			chromedp.WaitVisible(css("#policy-editor")),
			chromedp.Click(css(`button[data-file="routing.yaml"]`)),
			pageTrue(`document.querySelector('#policy-check-status').dataset.ok === 'true'`))
		path := filepath.Join(policyDir, "routing.yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, "# edited on the server\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		browse(t, ctx, "saving over it",
			js(`(() => { const e = document.querySelector('#policy-editor'); e.focus(); e.setSelectionRange(e.value.length, e.value.length); })()`),
			chromedp.KeyEvent("# mine\n"),
			pageTrue(`document.querySelector('#policy-editor').value.endsWith('# mine\n')`),
			pageTrue(`document.querySelector('#policy-check-status').dataset.ok === 'true' && !document.querySelector('#policy-save').disabled`),
			chromedp.Click(css("#policy-save")),
			chromedp.WaitVisible(css("#policy-diff")))
		diff := textOf(t, ctx, "#policy-diff")
		if !strings.Contains(diff, "- # edited on the server\n") || !strings.Contains(diff, "+ # mine\n") {
			t.Fatalf("the diff shown:\n%s", diff)
		}
		if got, _ := os.ReadFile(path); strings.Contains(string(got), "# mine") {
			t.Fatal("the save went through over a file changed since it was opened")
		}
		browse(t, ctx, "showing the diff", js(`document.querySelector('#policy-save-result').scrollIntoView()`))
		shot(t, ctx, "policies-conflict")
	})

	t.Run("another tenant", func(t *testing.T) {
		browse(t, ctx, "signing out",
			chromedp.Click(css("#sign-out")),
			chromedp.WaitVisible(css("#api-key")))
		browse(t, ctx, "signing in as a tenant that is not an admin",
			chromedp.SendKeys(css("#api-key"), "shop-key-0123456789\r"),
			pageTrue(`!!document.querySelector('#nav-orders') && (document.querySelector('#role') || {}).textContent === 'tenant'`))
		browse(t, ctx, "opening the orders",
			js(`document.querySelector('#nav-orders').click()`),
			pageTrue(`(document.querySelector('#orders-list') || {}).textContent === 'No order.'`))
		if eval[bool](t, ctx, `!!document.querySelector('#nav-policies')`) {
			t.Fatal("a tenant that is not an admin is shown the policies")
		}
		if eval[string](t, ctx, `sessionStorage.getItem('recyclegate.apiKey')`) != "shop-key-0123456789" {
			t.Fatal("the key is not where the page keeps it")
		}
	})
}

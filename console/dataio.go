package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/dataio"
)

// Data in and out (issue 23): uploading a register with its row errors and progress, ledgers to
// Excel, the indicators with a chart, and the cross-check's suspects.
func init() {
	addFieldLabels(map[string]string{"file": "文件", "mode": "导入方式", "dry_run": "仅校验", "ledger": "台账", "township_code": "乡镇"})
	for k, v := range map[string]func(params) string{
		"invalid/missing_columns": func(p params) string {
			return "缺少必填列：" + p["columns"] + "。请下载模板，按模板的表头填写。"
		},
		"invalid/empty":              fixed("文件是空的（第 1 行应为表头）"),
		"invalid/encoding":           fixed("无法识别 CSV 文件的文字编码：请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后再上传"),
		"invalid/xls":                fixed("这是旧版 Excel（.xls）文件，请另存为 .xlsx 工作簿后再上传"),
		"invalid/format":             fixed("无法打开这个文件：请上传 .xlsx 工作簿或 .csv 文件"),
		"invalid/csv":                func(p params) string { return "CSV 文件第 " + p["row"] + " 行无法读取（引号不配对？）" },
		"invalid/too_many_rows":      func(p params) string { return "文件超过 " + p["max"] + " 行，请分成几个文件上传" },
		"invalid/no_township":        fixed("没有这个乡镇代码"),
		"too_large":                  fixed("提交的内容过大。"),
		"too_large/too_large":        func(p params) string { return "文件超过 " + p["max_mb"] + " MB，请分成几个文件上传。" },
		"wrong_state/running":        fixed("导入仍在进行中，完成后才能下载错误清单。"),
		"wrong_state/decided":        fixed("该疑似对象已处理过。"),
		"wrong_state/not_registered": fixed("该儿童尚无学籍，不能直接立劝返案：请先为其办理入学、导入学籍后再立案。"),
	} {
		refusalText[k] = v
	}
	addLabels("action", map[string]string{"student.imported": "导入学籍", "student.updated": "学籍变更（导入）",
		"poverty_member.created": "导入建档立卡信息", "poverty_member.updated": "建档立卡信息变更（导入）",
		"disability.created": "导入残疾登记", "disability.updated": "残疾登记变更（导入）",
		"household_roll.created": "导入户籍信息", "household_roll.updated": "户籍信息变更（导入）",
		"attendance.created": "报告在校情况", "attendance.updated": "在校情况变更", "pairing.created": "建立结对", "pairing.ended": "结对结束（重新结对）",
		"import.applied": "数据导入", "ledger.exported": "导出台账", "cross_check.run": "四查三比对", "cross_check.cleared": "排除疑似辍学",
		"cross_check.case_opened": "疑似辍学转劝返案"})
	register(&module{
		Order: 50,
		Label: "数据",
		Nav: []navItem{
			{Order: 50, Label: "数据导入", Href: "/console/imports", Show: mayImportAny},
			{Order: 51, Label: "台账导出", Href: "/console/ledgers", Show: anyone},
			{Order: 52, Label: "指标", Href: "/console/indicators", Show: anyone},
			{Order: 53, Label: "四查三比对", Href: "/console/cross-checks", Show: roles(casework.RoleTownshipStaff, casework.RoleEducationSection, casework.RolePAOffice)},
		},
		Routes: func(r *router) {
			r.get("/console/imports", importsPage)
			r.post("/console/imports", importUpload)
			r.get("/console/imports/templates/:kind.xlsx", download(func(q *req) string {
				return "/api/v1/imports/templates/" + url.PathEscape(q.c.Params("kind")) + ".xlsx"
			}))
			r.get("/console/imports/:id", importPage)
			r.get("/console/imports/:id/errors.xlsx", download(func(q *req) string { return "/api/v1/imports/" + url.PathEscape(q.c.Params("id")) + "/errors.xlsx" }))
			r.get("/console/ledgers", ledgersPage)
			r.get("/console/ledgers/:ledger", ledgerPage)
			r.get("/console/exports/:ledger.xlsx", download(func(q *req) string {
				return "/api/v1/exports/" + url.PathEscape(q.c.Params("ledger")) + ".xlsx?" + string(q.c.Request().URI().QueryString())
			}))
			r.get("/console/indicators", indicatorsPage)
			r.get("/console/cross-checks", crossChecksPage)
			r.post("/console/cross-checks", crossCheckRun)
			r.post("/console/cross-checks/suspects/:id/clear", suspectClear)
			r.post("/console/cross-checks/suspects/:id/dropout-case", suspectCase)
		},
	})
}

func mayImportAny(a access.Actor) bool {
	for _, n := range dataio.KindNames() {
		if k, _ := dataio.KindNamed(n); k.MayImport(a) {
			return true
		}
	}
	return false
}

// download answers the API's file at the route target builds, as it is.
func download(target func(q *req) string) func(q *req) error {
	return func(q *req) error {
		_, resp, err := q.callRaw(fiber.MethodGet, target(q), "", nil)
		if err != nil {
			return q.fail(err)
		}
		q.c.Set(fiber.HeaderContentType, resp.ContentType)
		q.c.Set(fiber.HeaderContentDisposition, resp.Disposition) // the API names the file (台账 and term, in Chinese)
		return q.c.Send(resp.Body)
	}
}

type importsView struct {
	Kinds   []option
	Modes   []option
	Imports []api.ImportReport
	Labels  map[string]string
}

func kindOptions(q *req) ([]option, map[string]string) {
	var out []option
	labels := map[string]string{}
	for _, n := range dataio.KindNames() {
		k, _ := dataio.KindNamed(n)
		labels[n] = k.Label
		if k.MayImport(q.actor) {
			out = append(out, option{n, k.Label})
		}
	}
	return out, labels
}

func importsPage(q *req) error {
	return renderImports(q, fiber.StatusOK, newForm("kind", "mode", "dry_run", "file"))
}

func renderImports(q *req, status int, f *form) error {
	v := importsView{Modes: []option{{dataio.ModeAllOrNothing, "全部正确才导入（有错则不导入）"}, {dataio.ModeGoodRows, "只导入正确的行"}}}
	v.Kinds, v.Labels = kindOptions(q)
	var list struct{ Items []api.ImportReport }
	if err := q.get("/api/v1/imports", &list); err != nil {
		return q.fail(err)
	}
	v.Imports = list.Items
	return q.render(status, "imports", "数据导入", v, f)
}

// importUpload sends the browser's file on to the API as the same multipart form.
func importUpload(q *req) error {
	f := formFrom(q.c, "kind", "mode", "dry_run", "file")
	fh, err := q.c.FormFile("file")
	if err != nil {
		f.Errors["file"] = &fieldError{Label: "文件", Message: "请选择要上传的文件"}
		return renderImports(q, fiber.StatusBadRequest, f)
	}
	file, err := fh.Open()
	if err != nil {
		return q.fail(err)
	}
	content, err := io.ReadAll(io.LimitReader(file, dataio.MaxFileBytes+1))
	file.Close()
	if err != nil {
		return q.fail(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("mode", f.V("mode"))
	dry := "false"
	if f.V("dry_run") == "on" {
		dry = "true"
	}
	_ = w.WriteField("dry_run", dry)
	fw, _ := w.CreateFormFile("file", fh.Filename)
	_, _ = fw.Write(content)
	_ = w.Close()
	var rep api.ImportReport
	status, resp, err := q.callRaw(fiber.MethodPost, "/api/v1/imports/"+url.PathEscape(f.V("kind")), w.FormDataContentType(), body.Bytes())
	if err != nil {
		if ue := toUI(err, f); ue != nil {
			f.Banner = ue
		}
		return renderImports(q, fiber.StatusBadRequest, f)
	}
	if err := json.Unmarshal(resp.Body, &rep); err != nil {
		return q.fail(err)
	}
	msg := "已上传，正在校验。"
	if status == fiber.StatusOK {
		msg = "导入已完成。"
	}
	return q.redirect("/console/imports/"+rep.ID, msg)
}

type importView struct {
	R       api.ImportReport
	Label   string
	Percent int
	Running bool
}

func importPage(q *req) error {
	var v importView
	if err := q.get("/api/v1/imports/"+url.PathEscape(q.c.Params("id")), &v.R); err != nil {
		return q.fail(err)
	}
	if k, ok := dataio.KindNamed(v.R.Kind); ok {
		v.Label = k.Label
	}
	v.Running = v.R.State == "running"
	if v.R.Progress.RowsTotal > 0 {
		v.Percent = v.R.Progress.RowsRead * 100 / v.R.Progress.RowsTotal
	} else if !v.Running {
		v.Percent = 100
	}
	return q.render(fiber.StatusOK, "import", "导入结果", v, nil)
}

type ledgersView struct {
	Ledgers    []option
	Term, Unit string
	Units      []option
	Query      string
}

func ledgersPage(q *req) error {
	v := ledgersView{Term: q.c.Query("term"), Unit: q.c.Query("unit")}
	labels := dataio.LedgerLabels()
	for _, n := range dataio.LedgerNames() {
		v.Ledgers = append(v.Ledgers, option{n, labels[n]})
	}
	units, _, err := q.unitOptions()
	if err != nil {
		return q.fail(err)
	}
	v.Units = units
	qs := url.Values{}
	if v.Term != "" {
		qs.Set("term", v.Term)
	}
	if v.Unit != "" {
		qs.Set("unit", v.Unit)
	}
	v.Query = qs.Encode()
	return q.render(fiber.StatusOK, "ledgers", "台账导出", v, nil)
}

// ledgerPageRows bounds the rows a ledger's page shows per sheet (the Excel has them all).
const ledgerPageRows = 500

type sheetsView struct {
	Name, Label, Query string
	Sheets             []dataio.Sheet
	Cut                bool
}

// ledgerPage shows a ledger's sheets as tables, as its export has them.
func ledgerPage(q *req) error {
	v := sheetsView{Name: q.c.Params("ledger"), Query: string(q.c.Request().URI().QueryString())}
	var out struct {
		Label  string
		Sheets []dataio.Sheet
	}
	if err := q.get("/api/v1/ledgers/"+url.PathEscape(v.Name)+"?"+v.Query, &out); err != nil {
		return q.fail(err)
	}
	v.Label, v.Sheets = out.Label, out.Sheets
	for i := range v.Sheets {
		if len(v.Sheets[i].Rows) > ledgerPageRows {
			v.Sheets[i].Rows, v.Cut = v.Sheets[i].Rows[:ledgerPageRows], true
		}
	}
	return q.render(fiber.StatusOK, "ledger", v.Label, v, nil)
}

type indicatorsView struct {
	R     dataio.IndicatorReport
	Term  string
	Chart template.HTML
	Rows  []indicatorLine
}

// indicatorLine is one township's (or the county's) indicator as the table shows it.
type indicatorLine struct {
	Township, Code string
	dataio.Indicator
	RateText string
}

func indicatorsPage(q *req) error {
	v := indicatorsView{Term: q.c.Query("term")}
	target := "/api/v1/reports/indicators"
	if v.Term != "" {
		target += "?term=" + url.QueryEscape(v.Term)
	}
	if err := q.get(target, &v.R); err != nil {
		return q.fail(err)
	}
	v.Term = v.R.Term
	v.Chart = indicatorChart(v.R)
	for _, row := range append(append([]dataio.IndicatorRow(nil), v.R.Townships...), v.R.County) {
		for _, ind := range row.Indicators {
			l := indicatorLine{Township: row.Name, Code: row.TownshipCode, Indicator: ind, RateText: "—"}
			if ind.Rate != nil {
				l.RateText = fmt.Sprintf("%.1f%%", *ind.Rate)
			}
			v.Rows = append(v.Rows, l)
		}
	}
	return q.render(fiber.StatusOK, "indicators", "教育扶贫指标", v, nil)
}

// indicatorChart draws the county's and each township's rates as horizontal bars, one group per
// indicator, with the target as a line: an SVG made here (the console's CSP allows no script and
// no inline style; SVG attributes are neither).
func indicatorChart(r dataio.IndicatorReport) template.HTML {
	rows := append([]dataio.IndicatorRow{r.County}, r.Townships...)
	const labelW, barW, barH, gap = 120, 260, 14, 4
	var b strings.Builder
	y := len(r.County.Indicators) * (30 + len(rows)*(barH+gap))
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="指标完成情况">`, labelW+barW+60, y)
	y = 0
	for i, ind := range r.County.Indicators {
		y += 16
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="13" font-weight="bold">%s（目标 %.0f%%）</text>`, y, template.HTMLEscapeString(ind.Label), ind.Target)
		y += 6
		top := y
		for _, row := range rows {
			it := row.Indicators[i]
			fmt.Fprintf(&b, `<text x="0" y="%d" font-size="11">%s</text>`, y+barH-3, template.HTMLEscapeString(row.Name))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#eef0f3"/>`, labelW, y, barW, barH)
			label := "无数据"
			if it.Rate != nil {
				w := int(min(*it.Rate, 100) * barW / 100)
				fill := "#1e7d3c"
				if it.Missed {
					fill = "#b3261e"
				}
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" class="bar%s"/>`, labelW, y, w, barH, fill, map[bool]string{true: " missed", false: ""}[it.Missed])
				label = fmt.Sprintf("%.1f%%", *it.Rate)
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text>`, labelW+barW+4, y+barH-3, label)
			y += barH + gap
		}
		tx := labelW + int(ind.Target*barW/100)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1f2328" stroke-dasharray="3,2"/>`, tx, top-2, tx, y)
		y += 8
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type crossChecksView struct {
	Township, Term string
	Townships      []option
	Suspects       []api.SuspectView
	Reasons        map[string]string
	ClearReasons   []option
	Counts         map[string]int
}

func crossChecksPage(q *req) error {
	v := crossChecksView{Township: q.c.Query("township_code"), Term: q.c.Query("term"), Reasons: dataio.ReasonLabels}
	units, byCode, err := q.unitOptions()
	if err != nil {
		return q.fail(err)
	}
	for _, o := range units {
		if u, ok := byCode[o.Value]; ok && u.TownshipCode != "" && u.Code == o.Value && !strings.HasPrefix(o.Label, "　") {
			v.Townships = append(v.Townships, option{u.TownshipCode, u.Name})
		}
	}
	for _, k := range []string{"moved_away", "studying_outside", "deceased", "exempt", "other"} {
		v.ClearReasons = append(v.ClearReasons, option{k, dataio.ClearReasons[k]})
	}
	qs := url.Values{}
	if v.Township != "" {
		qs.Set("township_code", v.Township)
	}
	if v.Term != "" {
		qs.Set("term", v.Term)
	}
	var list struct{ Items []api.SuspectView }
	if err := q.get("/api/v1/cross-checks/suspects?"+qs.Encode(), &list); err != nil {
		return q.fail(err)
	}
	v.Suspects = list.Items
	return q.render(fiber.StatusOK, "cross_checks", "四查三比对", v, nil)
}

func crossCheckRun(q *req) error {
	f := formFrom(q.c, "township_code", "term")
	var out struct{ Counts map[string]int }
	if _, err := q.call(fiber.MethodPost, "/api/v1/cross-checks", map[string]string{"township_code": f.V("township_code"), "term": f.V("term")}, &out); err != nil {
		return q.fail(err)
	}
	return q.redirect("/console/cross-checks?"+url.Values{"township_code": {f.V("township_code")}, "term": {f.V("term")}}.Encode(),
		fmt.Sprintf("比对完成：疑似辍学 %d 人。", out.Counts["suspects"]))
}

func suspectClear(q *req) error {
	f := formFrom(q.c, "reason", "note", "back")
	if _, err := q.call(fiber.MethodPost, "/api/v1/cross-checks/suspects/"+url.PathEscape(q.c.Params("id"))+"/clear",
		map[string]string{"reason": f.V("reason"), "note": f.V("note")}, nil); err != nil {
		return q.fail(err)
	}
	return q.redirect(safeNext(f.V("back")), "已排除。")
}

func suspectCase(q *req) error {
	var out struct {
		CaseID string `json:"case_id"`
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/cross-checks/suspects/"+url.PathEscape(q.c.Params("id"))+"/dropout-case", map[string]string{}, &out); err != nil {
		return q.fail(err)
	}
	return q.redirect("/console/dropout/cases/"+url.PathEscape(out.CaseID), "已立劝返案，责任教师将收到首次联系的待办。")
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.temporal.io/sdk/client"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/dataio"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Data in and out (issue 23): spreadsheet imports of the registers (each a dataio.Kind), and
// ledgers out to Excel (each a dataio.Ledger). docs/data.md says how they work.
func (s *Server) dataRoutes() []Route {
	r := route
	return append([]Route{
		r("GET", "/api/v1/imports/templates/:kind.xlsx", "The import template of a kind (Chinese headers)", "login", nil, s.ImportTemplate).file(xlsxMedia),
		upload(r("POST", "/api/v1/imports/:kind", "Import a spreadsheet (multipart: file, mode=all_or_nothing|good_rows, dry_run=true|false); 200 with the report when done at once, else 202 with its id",
			"login; the kind's importers (per kind)", nil, s.CreateImport).returns(ImportReport{}).answers(202, ImportReport{}).
			// The kind plan-tasks (a work plan's task list, ?plan_id=) answers as POST /api/v1/plans/:id/tasks/import.
			returns(planImportChecked{}).answers(201, planImportAnswer{})),
		r("GET", "/api/v1/imports", "The caller's imports, newest first", "login; the caller's imports", nil, s.ListImports).returns(importList{}),
		r("GET", "/api/v1/imports/:id", "An import: state (running, done, failed), progress, row errors and changes", "login; the importer or an admin", nil, s.GetImport).returns(ImportReport{}),
		r("GET", "/api/v1/imports/:id/errors.xlsx", "An import's rows with errors, with an error column", "login; the importer or an admin", nil, s.ImportErrors).file(xlsxMedia),
		r("GET", "/api/v1/exports/:ledger.xlsx", "A ledger (台账) to Excel in the caller's scope (?term=, ?unit=)", "login; the ledger's readers, in the caller's scope", nil, s.Export).query(qp("term", "a term such as 2026-2027-1"), qp("unit", "a unit code: that unit and everything under it")).file(xlsxMedia),
		r("GET", "/api/v1/reports/indicators", "The plan's indicators (seed 二(一)) per township and county, with their inputs (?term=, ?unit=)", "login; the caller's units", nil, s.Indicators).query(qp("term", "a term such as 2026-2027-1"), qp("unit", "a unit code: that unit and everything under it")).returns(dataio.IndicatorReport{}),
	}, s.crossCheckRoutes()...)
}

// upload marks a route that takes a file (AllowUploads).
func upload(r Route) Route {
	r.upload = true
	return r
}

// uploadReadLimit is how much of a file upload the server reads at all. It is well above a file's
// limit (dataio.MaxFileBytes) so that a spreadsheet a few times too large is read and refused
// with a 413 that says the limit: a server that refuses before reading the body cuts the
// connection under a client still sending it, and a browser shows "connection reset" instead.
// Beyond it the connection is cut all the same. Every other request stays at the app's 1 MB.
const uploadReadLimit = 64 << 20

// AllowUploads lets a POST to a path under one of prefixes carry up to uploadReadLimit: the limit
// is decided as the request's header arrives, before its body is read, so that no other route
// (a login, a JSON form) reads more than the app's 1 MB. The API's upload routes are allowed by
// Mount, the console's upload form by the console.
func AllowUploads(app *fiber.App, prefixes ...string) {
	if len(prefixes) == 0 {
		return
	}
	srv := app.Server()
	prev := srv.HeaderReceived
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if string(h.Method()) == fiber.MethodPost {
			path := string(h.RequestURI())
			for _, p := range prefixes {
				if strings.HasPrefix(path, p) {
					return fasthttp.RequestConfig{MaxRequestBodySize: uploadReadLimit}
				}
			}
		}
		if prev != nil {
			return prev(h)
		}
		return fasthttp.RequestConfig{}
	}
}

// tooLarge is the 413 of a body above max bytes.
func tooLarge(max int) *Error {
	return (&Error{Status: fiber.StatusRequestEntityTooLarge, Code: "too_large",
		Message: fmt.Sprintf("the request is larger than %d MB (a form or JSON body may have 1 MB, a spreadsheet %d MB: split it into several files)", max>>20, dataio.MaxFileBytes>>20)}).
		because("too_large", "max_mb", fmt.Sprint(max>>20))
}

// kindParam is the kind a route names.
func kindParam(c *fiber.Ctx) (*dataio.Kind, error) {
	k, ok := dataio.KindNamed(c.Params("kind"))
	if !ok {
		kinds := strings.Join(append(dataio.KindNames(), PlanTasksKind), ", ")
		return nil, bad("kind", "no import kind %s; kinds are %s", quote(c.Params("kind")), kinds).because("one_of", "values", kinds)
	}
	return k, nil
}

// ImportTemplate answers a kind's template workbook.
func (s *Server) ImportTemplate(c *fiber.Ctx) error {
	if c.Params("kind") == PlanTasksKind {
		b, err := planTaskTemplate()
		if err != nil {
			return err
		}
		return sendWorkbook(c, "工作任务清单导入模板.xlsx", b)
	}
	k, err := kindParam(c)
	if err != nil {
		return err
	}
	b, err := dataio.Template(k)
	if err != nil {
		return err
	}
	return sendWorkbook(c, k.Label+"导入模板.xlsx", b)
}

// sendWorkbook answers an .xlsx file named name.
func sendWorkbook(c *fiber.Ctx, name string, b []byte) error {
	c.Set(fiber.HeaderContentType, xlsxMedia)
	c.Set(fiber.HeaderContentDisposition, "attachment; filename=\"export.xlsx\"; filename*=UTF-8''"+url.PathEscape(name))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b)
}

// xlsxMedia is the media type of an Excel workbook (.xlsx), as the workbook routes answer and
// the document declares them.
const xlsxMedia = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// importWait is how long an upload waits for its job before answering 202.
const importWait = 3 * time.Second

// CreateImport takes a spreadsheet, checks that it is one (format, encoding, header) at once,
// and starts its job: 200 with the report when the job is done within importWait, else 202.
func (s *Server) CreateImport(c *fiber.Ctx) error {
	if c.Params("kind") == PlanTasksKind {
		return s.importPlanTaskKind(c)
	}
	ctx, a := c.UserContext(), actor(c)
	k, err := kindParam(c)
	if err != nil {
		return err
	}
	if !k.MayImport(a) {
		return forbidden("your roles may not import %s", k.Name)
	}
	mode := c.FormValue("mode", dataio.ModeAllOrNothing)
	if mode != dataio.ModeAllOrNothing && mode != dataio.ModeGoodRows {
		return bad("mode", "must be all_or_nothing or good_rows").because("one_of", "values", "all_or_nothing, good_rows")
	}
	dry := c.FormValue("dry_run", "false")
	if dry != "true" && dry != "false" {
		return bad("dry_run", "must be true or false").because("one_of", "values", "true, false")
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return bad("file", "required: the spreadsheet, in the multipart field file").because("required")
	}
	if fh.Size > dataio.MaxFileBytes {
		return tooLarge(dataio.MaxFileBytes)
	}
	name := strings.TrimSpace(fh.Filename)
	if err := checkText("file", name, inputRule{max: 200}); err != nil {
		name = "upload"
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, dataio.MaxFileBytes+1))
	f.Close()
	if err != nil {
		return err
	}
	t, err := dataio.ReadTable(data, 0)
	var fe *dataio.FileError
	if errors.As(err, &fe) {
		return (&Error{Status: fiber.StatusBadRequest, Code: workflows.CodeInvalid, Field: "file", Message: "file: " + fe.Msg}).because(fe.Reason, fe.KV...)
	} else if err != nil {
		return err
	}
	if fe := k.CheckHeader(t.Header); fe != nil {
		return (&Error{Status: fiber.StatusBadRequest, Code: workflows.CodeInvalid, Field: "file", Message: "file: " + fe.Msg}).because(fe.Reason, fe.KV...)
	}
	im := store.Import{ID: store.NewID("imp"), Kind: k.Name, Mode: mode, DryRun: dry == "true", FileName: name, ActorJSON: jsonString(a), CreatedBy: a.UserID}
	if im, err = s.store.CreateImport(ctx, im, data); err != nil {
		return err
	}
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ImportWorkflowID(im.ID), TaskQueue: s.cfg.TemporalTaskQueue},
		workflows.ImportJob, workflows.ImportJobInput{ImportID: im.ID})
	if err != nil {
		// Nothing will check this file: say so on the import rather than leave it running.
		if ferr := s.store.FailImport(context.WithoutCancel(ctx), im.ID, "the import's job could not be started"); ferr != nil {
			s.log.Error("import: marking an unstarted import failed", "import", im.ID, "error", ferr)
		}
		return err
	}
	wait, cancel := context.WithTimeout(ctx, min(importWait, s.cfg.UpdateTimeout))
	_ = run.Get(wait, nil)
	cancel()
	if im, err = s.store.ImportByID(ctx, im.ID); err != nil {
		return err
	}
	status := fiber.StatusOK
	if im.State == store.ImportRunning {
		status = fiber.StatusAccepted
	}
	return c.Status(status).JSON(importReport(a, im))
}

// ImportReport is an import as the API shows it.
type ImportReport struct {
	store.Import
	Progress    ImportProgress    `json:"progress"`
	Errors      []dataio.RowError `json:"errors"`
	ErrorsTotal int               `json:"errors_total"`
	Changes     []dataio.Change   `json:"changes"`
}

// ImportProgress is how far an import's check has come: rows read of the total, valid, invalid.
type ImportProgress struct {
	RowsTotal int `json:"rows_total"`
	RowsRead  int `json:"rows_read"`
	Valid     int `json:"valid"`
	Invalid   int `json:"invalid"`
}

// reportErrors is how many row errors a report lists (the error workbook has them all).
const reportErrors = 1000

// importReport is the report as a may see it: changed rows' numbers (学籍号, ID-card number,
// birth date) masked as the student record masks them for a (personalViewOf); row errors never
// carry a cell's value.
func importReport(a access.Actor, im store.Import) ImportReport {
	rep := ImportReport{Import: im, Errors: []dataio.RowError{}, Changes: []dataio.Change{},
		Progress: ImportProgress{RowsTotal: im.RowsTotal, RowsRead: im.RowsRead, Valid: im.Valid, Invalid: im.Invalid}}
	_ = json.Unmarshal([]byte(im.ErrorsJSON), &rep.Errors)
	rep.ErrorsTotal = len(rep.Errors)
	if len(rep.Errors) > reportErrors {
		rep.Errors = rep.Errors[:reportErrors]
	}
	_ = json.Unmarshal([]byte(im.ChangeJSON), &rep.Changes)
	for i, ch := range rep.Changes {
		v := personalViewOf(a, ch.UnitCode, ch.UnitPath)
		ch.Key, ch.UnitPath = v.field(ch.KeyField, ch.Key), ""
		fs := make([]dataio.FieldChange, len(ch.Fields))
		for j, f := range ch.Fields {
			f.Before, f.After = v.field(f.Field, f.Before), v.field(f.Field, f.After)
			fs[j] = f
		}
		ch.Fields = fs
		rep.Changes[i] = ch
	}
	return rep
}

// readableImport is an import the caller may read: their own (an admin reads every one, with
// numbers masked).
func (s *Server) readableImport(c *fiber.Ctx) (store.Import, error) {
	im, err := s.store.ImportByID(c.UserContext(), c.Params("id"))
	a := actor(c)
	if errors.Is(err, store.ErrNotFound) || (err == nil && im.CreatedBy != a.UserID && !a.Has(casework.RoleAdmin)) {
		return im, notFound("import")
	}
	return im, err
}

// GetImport answers an import's report.
func (s *Server) GetImport(c *fiber.Ctx) error {
	im, err := s.readableImport(c)
	if err != nil {
		return err
	}
	return c.JSON(importReport(actor(c), im))
}

// ListImports lists the caller's imports (the report without its rows).
func (s *Server) ListImports(c *fiber.Ctx) error {
	ims, err := s.store.Imports(c.UserContext(), actor(c).UserID, 50)
	if err != nil {
		return err
	}
	out := make([]ImportReport, len(ims))
	for i, im := range ims {
		im.ErrorsJSON, im.ChangeJSON = "[]", "[]"
		out[i] = importReport(actor(c), im)
	}
	return c.JSON(importList{Items: out, Kinds: dataio.KindNames()})
}

// ImportErrors answers the import's rows with errors as a workbook with an error column. Only the
// importer (who uploaded the cells) may download it: it repeats the file's own cells.
func (s *Server) ImportErrors(c *fiber.Ctx) error {
	im, err := s.readableImport(c)
	if err != nil {
		return err
	}
	if im.CreatedBy != actor(c).UserID {
		return notFound("import")
	}
	if im.State == store.ImportRunning {
		return refused(workflows.CodeWrongState, "", "the import is still running").because("running")
	}
	k, ok := dataio.KindNamed(im.Kind)
	if !ok {
		return notFound("import kind")
	}
	var errs []dataio.RowError
	_ = json.Unmarshal([]byte(im.ErrorsJSON), &errs)
	content, err := s.store.ImportContent(c.UserContext(), im.ID)
	if err != nil {
		return err
	}
	b, err := dataio.ErrorWorkbook(k, content, errs)
	if err != nil {
		return err
	}
	return sendWorkbook(c, k.Label+"导入错误清单.xlsx", b)
}

// Export answers a ledger as a workbook: the rows in the caller's scope (narrowed by ?unit= and
// ?term=), with each personal column (ID-card number, 学籍号, birth date, an objector's contact)
// as the caller may see it for that row's unit (personalViewOf). Every download is on the audit
// trail: a ledger is personal data leaving the service.
func (s *Server) Export(c *fiber.Ctx) error {
	l, q, out, err := s.ledgerSheets(c)
	if err != nil {
		return err
	}
	b, err := dataio.Workbook(out...)
	if err != nil {
		return err
	}
	s.audit(c, "ledger.exported", "export", "export-"+l.Name, nil, map[string]any{"ledger": l.Name, "term": q.Term, "unit": c.Query("unit")})
	name := l.Label
	if q.Term != "" {
		name += "-" + q.Term
	}
	return sendWorkbook(c, name+".xlsx", b)
}

// ledgerSheets reads the route's ledger for the caller: its sheets in the caller's scope under
// ?unit= and ?term=, each personal cell masked as the caller may see it for its row's unit.
func (s *Server) ledgerSheets(c *fiber.Ctx) (*dataio.Ledger, dataio.Query, []dataio.Sheet, error) {
	a := actor(c)
	l, ok := dataio.LedgerNamed(c.Params("ledger"))
	if !ok {
		return nil, dataio.Query{}, nil, bad("ledger", "no ledger %s; ledgers are %s", quote(c.Params("ledger")), strings.Join(dataio.LedgerNames(), ", ")).
			because("one_of", "values", strings.Join(dataio.LedgerNames(), ", "))
	}
	if len(l.Roles) > 0 && !slices.ContainsFunc(l.Roles, a.Has) && !a.ReadsAll() {
		return nil, dataio.Query{}, nil, forbidden("your roles may not read the ledger %s", l.Name)
	}
	q, err := s.ledgerQuery(c)
	if err != nil {
		return nil, q, nil, err
	}
	sheets, err := l.Sheets(c.UserContext(), s.store, q)
	if err != nil {
		return nil, q, nil, err
	}
	out := make([]dataio.Sheet, len(sheets))
	for i, sh := range sheets {
		out[i] = maskSheet(a, sh)
	}
	return l, q, out, nil
}

// ledgerQuery reads ?term= and ?unit= (a unit the caller sees) into a ledger's query.
func (s *Server) ledgerQuery(c *fiber.Ctx) (dataio.Query, error) {
	a := actor(c)
	q := dataio.Query{Scopes: a.Scopes(), Term: c.Query("term")}
	if q.Term != "" {
		if err := ValidTerm(q.Term); err != nil {
			return q, badValue("term", err)
		}
	}
	if code := c.Query("unit"); code != "" {
		u, err := s.store.UnitByCode(c.UserContext(), code)
		if errors.Is(err, store.ErrNotFound) {
			return q, bad("unit", "no unit %s", quote(code)).because("no_unit")
		} else if err != nil {
			return q, err
		}
		if !a.Sees(u.Path) {
			return q, refused(workflows.CodeNotInScope, "unit", "unit: %s is not in your scope", code)
		}
		q.UnitPath, q.TownshipCode = u.Path, u.TownshipCode
	}
	return q, nil
}

// maskSheet is a ledger sheet as a may see it, each personal cell by its row's unit.
func maskSheet(a access.Actor, sh dataio.LedgerSheet) dataio.Sheet {
	out := dataio.Sheet{Name: sh.Name, Red: sh.Red, Rows: [][]string{}} // an empty sheet is [] in JSON, not null
	for _, col := range sh.Columns {
		out.Header = append(out.Header, col.Header)
	}
	for _, r := range sh.Rows {
		v := personalViewOf(a, r.UnitCode, r.UnitPath)
		cells := make([]string, len(r.Cells))
		for j, cell := range r.Cells {
			if j < len(sh.Columns) && sh.Columns[j].Personal != "" {
				cell = v.field(sh.Columns[j].Personal, cell)
			}
			cells[j] = cell
		}
		out.Rows = append(out.Rows, cells)
	}
	return out
}

// Indicators answers the plan's indicators for a term (?term=, default the current one) per
// township (?unit= narrows to a unit's township) and for the county. They are counts, never a
// person's record, so every logged-in user may read them.
func (s *Server) Indicators(c *fiber.Ctx) error {
	q, err := s.ledgerQuery(c)
	if err != nil {
		return err
	}
	if q.Term == "" {
		q.Term = store.TermOf(time.Now())
	}
	in, err := s.store.IndicatorInputsOf(c.UserContext(), q.Term)
	if err != nil {
		return err
	}
	rep := dataio.Indicators(in, q.Term)
	rep.Townships = dataio.VisibleTownships(rep, q)
	return c.JSON(rep)
}

// importList is the caller's imports, with the kinds of import there are.
type importList struct {
	Items []ImportReport `json:"items"`
	Kinds []string       `json:"kinds"`
}

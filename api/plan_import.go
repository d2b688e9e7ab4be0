package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"jiaofu/store"
)

// maxImportRows bounds a task list: annex 1 has about fifty tasks; a county's plan a few hundred.
const maxImportRows = 1000

// ReadTable reads the first sheet of an .xlsx file, or a .csv file (UTF-8, with or without a
// byte-order mark), as rows of cells; the file's name says which.
func ReadTable(name string, data []byte) ([][]string, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx":
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, broken("xlsx", nil, "not a readable .xlsx workbook")
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, broken("xlsx", nil, "the workbook has no sheet")
		}
		rows, err := f.GetRows(sheets[0])
		if err != nil {
			return nil, broken("xlsx", nil, "the first sheet could not be read")
		}
		return rows, nil
	case ".csv":
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(data) {
			return nil, broken("not_utf8", nil, "the file is not UTF-8 text; save the .csv as UTF-8")
		}
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		var rows [][]string
		for {
			row, err := r.Read()
			if errors.Is(err, io.EOF) {
				return rows, nil
			}
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					return nil, broken("csv", []string{"row", strconv.Itoa(pe.Line)}, "row %d is not well-formed CSV", pe.Line)
				}
				return nil, broken("csv", nil, "not readable as CSV")
			}
			rows = append(rows, row)
		}
	}
	return nil, broken("file_type", nil, "a .csv or .xlsx file is needed")
}

// PlanTaskRows turns a task list's rows into task requests, header first (row 1). The header
// names the columns as annex 1 does (一级指标, 二级指标, 工作任务, 牵头股室, 配合股室, 完成时限) or
// as the API does (level1, …, due_on), in any order. Empty rows are skipped; an empty 一级指标 or
// 二级指标 takes the row above's, as the annex's merged cells read when exported. Cooperating
// sections are separated by 、，, ; or spaces. It returns each task with its row number.
func PlanTaskRows(rows [][]string) ([]PlanTaskRequest, []int, []RowError) {
	if len(rows) == 0 {
		return nil, nil, []RowError{{Row: 1, Column: "", Field: "file", Reason: "empty", Message: "the file has no rows"}}
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		for _, c := range planColumns {
			if h == c.Column || h == c.Field {
				col[c.Field] = i
			}
		}
	}
	var errs []RowError
	for _, f := range []string{"level1", "description", "lead_unit", "due_on"} {
		if _, ok := col[f]; !ok {
			errs = append(errs, RowError{Row: 1, Column: columnOf(f), Field: f, Reason: "missing_column",
				Message: fmt.Sprintf("the header has no column %s", columnOf(f))})
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	cell := func(row []string, f string) string {
		i, ok := col[f]
		if !ok || i >= len(row) {
			return ""
		}
		return strings.TrimSpace(row[i])
	}
	var out []PlanTaskRequest
	var at []int
	var level1, level2 string
	for n, row := range rows[1:] {
		if strings.TrimSpace(strings.Join(row, "")) == "" {
			continue
		}
		if len(out) >= maxImportRows {
			errs = append(errs, RowError{Row: n + 2, Field: "file", Reason: "too_many_rows", Params: map[string]string{"max": strconv.Itoa(maxImportRows)},
				Message: fmt.Sprintf("at most %d tasks in one list", maxImportRows)})
			break
		}
		if v := cell(row, "level1"); v != "" {
			level1, level2 = v, ""
		}
		if v := cell(row, "level2"); v != "" {
			level2 = v
		}
		t := PlanTaskRequest{Level1: level1, Level2: level2, Description: cell(row, "description"), LeadUnit: cell(row, "lead_unit"),
			DueOn: cell(row, "due_on")}
		for _, name := range strings.FieldsFunc(cell(row, "cooperating_units"), func(r rune) bool {
			return strings.ContainsRune("、，,;；/ \t\n", r)
		}) {
			t.CooperatingUnits = append(t.CooperatingUnits, name)
		}
		out, at = append(out, t), append(at, n+2)
	}
	return out, at, errs
}

// ParsedTasks are a list's tasks checked against a plan: every row's record, or the errors of
// the rows that have one (all of them, not only the first).
func (s *Server) ParsedTasks(ctx context.Context, p store.Plan, rows [][]string, now time.Time) ([]store.PlanTask, []RowError) {
	reqs, at, errs := PlanTaskRows(rows)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(reqs) == 0 {
		return nil, []RowError{{Row: 2, Field: "file", Reason: "no_tasks", Message: "the list has no task under its header"}}
	}
	var ts []store.PlanTask
	seen := map[string]int{}
	for i, req := range reqs {
		// The text itself first (readable, no control characters), as parseBody checks a request's.
		for _, cell := range []struct{ field, v string }{{"level1", req.Level1}, {"level2", req.Level2}, {"description", req.Description},
			{"lead_unit", req.LeadUnit}, {"due_on", req.DueOn}} {
			if err := checkText(cell.field, cell.v, inputRule{max: 2000, multiline: cell.field == "description"}); err != nil {
				var e *Error
				if errors.As(err, &e) {
					errs = append(errs, RowError{Row: at[i], Column: columnOf(cell.field), Field: cell.field, Reason: e.Params["reason"], Message: e.Message})
				}
			}
		}
		if len(errs) > 0 && errs[len(errs)-1].Row == at[i] {
			continue
		}
		t, e := s.planTaskOf(ctx, p, req, now)
		if e != nil {
			e.Row = at[i]
			errs = append(errs, *e)
			continue
		}
		if first, ok := seen[t.ID]; ok {
			errs = append(errs, RowError{Row: at[i], Column: columnOf("description"), Field: "description", Reason: "duplicate_row",
				Params: map[string]string{"first": strconv.Itoa(first)}, Message: fmt.Sprintf("repeats row %d", first)})
			continue
		}
		seen[t.ID] = at[i]
		ts = append(ts, t)
	}
	return ts, errs
}

// ImportPlanTasks imports a plan's task list (multipart field file, .csv or .xlsx; dry_run=true
// checks only). Every row is checked first; with any error nothing is written and the answer is
// 400 with every row's errors ({row, column, field, reason, message}: the header is row 1).
// Otherwise the tasks are recorded in one transaction and their cases started; a row already on
// the plan's list (the same task imported again) is left as it is.
func (s *Server) ImportPlanTasks(c *fiber.Ctx) error {
	return s.importPlanTasks(c, c.Params("id"))
}

// PlanTasksKind is the plan's task list as a kind of the data route (POST /api/v1/imports/
// plan-tasks with the plan in the form field plan_id): the same import as the plan's own route.
// Its rows are tasks of a plan, not a register's rows, so it is not a dataio.Kind.
const PlanTasksKind = "plan-tasks"

// planTaskHeaders are annex 1's columns, as the template has them.
var planTaskHeaders = []string{"一级指标", "二级指标", "工作任务", "牵头股室", "配合股室", "完成时限"}

// importPlanTaskKind is POST /api/v1/imports/plan-tasks.
func (s *Server) importPlanTaskKind(c *fiber.Ctx) error {
	id := strings.TrimSpace(c.FormValue("plan_id"))
	if id == "" {
		return bad("plan_id", "required: the plan whose list this is (GET /api/v1/plans lists them)").because("required")
	}
	if err := checkText("plan_id", id, inputRule{max: 100}); err != nil {
		return err
	}
	return s.importPlanTasks(c, id)
}

// planTaskTemplate is the plan-tasks kind's template: annex 1's header row.
func planTaskTemplate() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetRow("Sheet1", "A1", &planTaskHeaders); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err := f.Write(&b)
	return b.Bytes(), err
}

func (s *Server) importPlanTasks(c *fiber.Ctx, planID string) error {
	ctx, a := c.UserContext(), actor(c)
	p, err := s.store.PlanByID(ctx, planID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("plan")
	}
	if err != nil {
		return err
	}
	if p, err = s.keepsPlan(a, p); err != nil {
		return err
	}
	dryRun := false
	if v := c.FormValue("dry_run"); v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			return bad("dry_run", "true or false").because("bool")
		}
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return bad("file", "a .csv or .xlsx file in the multipart field file is required").because("required")
	}
	if fh.Size > 4<<20 {
		return bad("file", "at most 4 MB").because("file_size", "max", "4 MB")
	}
	f, err := fh.Open()
	if err != nil {
		return bad("file", "could not be read").because("unreadable")
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return bad("file", "could not be read").because("unreadable")
	}
	rows, err := ReadTable(fh.Filename, data)
	if err != nil {
		return badValue("file", err)
	}
	ts, errs := s.ParsedTasks(ctx, p, rows, time.Now())
	if len(errs) > 0 {
		e := bad("file", "%d rows of the list have errors; nothing was imported", len(errs)).because("row_errors", "count", strconv.Itoa(len(errs)))
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": e, "row_errors": errs})
	}
	if dryRun {
		views := make([]PlanTaskRequest, len(ts))
		for i, t := range ts {
			views[i] = PlanTaskRequest{Level1: t.Level1, Level2: t.Level2, Description: t.Description, LeadUnit: t.LeadUnit, DueOn: t.DueOn,
				CooperatingUnits: []string{}}
			for _, u := range t.Cooperating {
				views[i].CooperatingUnits = append(views[i].CooperatingUnits, u.Code)
			}
		}
		return c.JSON(planImportChecked{DryRun: true, Count: len(ts), Tasks: views})
	}
	entries := make([]store.AuditEntry, len(ts))
	for i := range ts {
		ts[i].CreatedBy = a.UserID
		entries[i] = planTaskAudit(a, ts[i])
	}
	added, err := s.store.InsertPlanTasks(ctx, ts, entries)
	if err != nil {
		return err
	}
	// Started after the list is on record: a start cut short by an outage is retried by the same
	// import again (the rows are kept as they are) or at the service's next start.
	if _, err := s.StartOpeningPlanTasks(ctx); err != nil {
		return err
	}
	ids := make([]string, len(added))
	for i, t := range added {
		ids[i] = t.ID
	}
	return c.Status(fiber.StatusCreated).JSON(planImportAnswer{PlanID: p.ID, Created: ids, AlreadyOnList: len(ts) - len(added)})
}

// planImportChecked is a dry run's answer: the tasks the list would add, as read.
type planImportChecked struct {
	DryRun bool              `json:"dry_run"`
	Count  int               `json:"count"`
	Tasks  []PlanTaskRequest `json:"tasks"`
}

// planImportAnswer is an import's answer: the plan tasks created, and how many rows were on the
// plan's list already (an import repeated adds nothing twice).
type planImportAnswer struct {
	PlanID        string   `json:"plan_id"`
	Created       []string `json:"created"`
	AlreadyOnList int      `json:"already_on_list"`
}

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/store"
)

// TestEdgeRefusalsCarryReasons: every check of the API's edge that a console form can trigger
// answers with its code, the field and a reason (with the values its wording needs), so that a
// client words it without reading the English message. The checks that need the database (no
// such student, unit, user or programme) are asserted in e2e.
func TestEdgeRefusalsCarryReasons(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	student := func(edit func(*StudentRequest)) StudentRequest {
		r := StudentRequest{StudentNo: "G11010519491231002X", Name: "张三", Sex: "男", BirthDate: "1949-12-31", IDCardNo: "11010519491231002X",
			UnitCode: "JS-T01-S01", Grade: 3, Class: "1班"}
		edit(&r)
		return r
	}
	studentErr := func(edit func(*StudentRequest)) *Error {
		errs := StudentErrors(student(edit))
		if len(errs) != 1 {
			t.Fatalf("student check: %v, want one error", errs)
		}
		return errs[0]
	}
	for _, c := range []struct {
		name   string
		err    *Error
		field  string
		reason string
		kv     []string
	}{
		{"term format", badValue("term", ValidTerm("2026-27-1")), "term", "term_format", nil},
		{"term years", badValue("term", ValidTerm("2026-2028-1")), "term", "term_years", nil},
		{"term window", badValue("term", termForApplication("2030-2031-1", now, false)), "term", "term_window",
			[]string{"this_year", "2026-2027", "next_year", "2027-2028"}},
		{"date format", LastAttended("01/11/2026"), "last_attended_on", "date_format", nil},
		{"date in the future", LastAttended(time.Now().AddDate(0, 0, 3).Format("2006-01-02")), "last_attended_on", "future", nil},
		{"evidence note required", EvidenceNote("", false), "evidence_note", "required_without_poverty_registration", nil},
		{"evidence note too long", EvidenceNote(strings.Repeat("证", 1001), true), "evidence_note", "max_chars", []string{"max", "1000"}},
		{"unit code", unitCode("code", "js_t01", "JS-T01-S03").(*Error), "code", "unit_code_format", []string{"example", "JS-T01-S03"}},
		{"sex", studentErr(func(r *StudentRequest) { r.Sex = "x" }), "sex", "one_of", nil},
		{"birth date", studentErr(func(r *StudentRequest) { r.BirthDate, r.IDCardNo, r.StudentNo = "1949/12/31", "", "L1" }), "birth_date", "date_format", nil},
		{"id card length", studentErr(func(r *StudentRequest) { r.IDCardNo, r.StudentNo = "123", "L1" }), "id_card_no", "id_card_length", nil},
		{"id card digits", studentErr(func(r *StudentRequest) { r.IDCardNo, r.StudentNo = "1101051949123100AX", "L1" }), "id_card_no", "id_card_digits",
			[]string{"position", "17"}},
		{"id card birth date", studentErr(func(r *StudentRequest) { r.IDCardNo, r.StudentNo = "110105194913310020", "L1" }), "id_card_no",
			"id_card_birth_date", nil},
		{"id card check", studentErr(func(r *StudentRequest) { r.IDCardNo, r.StudentNo = "110105194912310021", "L1" }), "id_card_no", "id_card_check", nil},
		{"id card birth mismatch", studentErr(func(r *StudentRequest) { r.BirthDate = "1949-12-30" }), "id_card_no", "id_card_birth_mismatch", nil},
		{"G number", studentErr(func(r *StudentRequest) { r.StudentNo = "G123" }), "student_no", "student_no_g", nil},
		{"student number", studentErr(func(r *StudentRequest) { r.StudentNo = "X1" }), "student_no", "student_no_format", nil},
		{"student's unit", studentErr(func(r *StudentRequest) { r.UnitCode = "" }), "unit_code", "required", nil},
		{"grade", studentErr(func(r *StudentRequest) { r.Grade = 13 }), "grade", "grade_range", nil},
		{"control character", checkText("reason", "a\x07b", inputRule{max: 10}).(*Error), "reason", "control_char", []string{"position", "2"}},
		{"NUL", checkText("reason", "ab\x00", inputRule{max: 10}).(*Error), "reason", "control_char", []string{"position", "3"}},
		{"not UTF-8", checkText("reason", "a\xffb", inputRule{max: 10}).(*Error), "reason", "not_utf8", nil},
		{"unavailable database", classify(fmt.Errorf("x: %w", store.ErrUnavailable)), "", "database", nil},
		{"unavailable worker", classify(context.DeadlineExceeded), "", "worker", nil},
		{"publicity list gone", listNotFound(), "", "publicity_list", nil},
	} {
		e := c.err
		if e == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if e.Field != c.field || e.Params["reason"] != c.reason {
			t.Errorf("%s: %s field %q params %v (%s), want field %q reason %s", c.name, e.Code, e.Field, e.Params, e.Message, c.field, c.reason)
		}
		for i := 0; i+1 < len(c.kv); i += 2 {
			if e.Params[c.kv[i]] != c.kv[i+1] {
				t.Errorf("%s: params %v, want %s=%s", c.name, e.Params, c.kv[i], c.kv[i+1])
			}
		}
	}
	// The English messages are kept for people and logs.
	if e := badValue("term", ValidTerm("2026-2028-1")); e.Message != `term: "2026-2028-1": the second year must follow the first` {
		t.Errorf("term message %q", e.Message)
	}
}

// TestHandlerRefusalsCarryReasons: the handlers' own checks before they reach the database, over
// HTTP, answer with code invalid, the field and a reason.
func TestHandlerRefusalsCarryReasons(t *testing.T) {
	t.Parallel()
	s := &Server{}
	programme := `{"code": "living", "name": "生活补助", "amount_fen": 50000, "stage": "primary"}`
	unit := `{"code": "JS-T09", "name": "新乡镇", "kind": "township_school", "parent_code": "JS"}`
	user := `{"username": "u1", "password": "longenough", "display_name": "x", "roles": [{"role": "teacher", "unit_code": "JS"}]}`
	with := func(body, old, new string) string {
		if !strings.Contains(body, old) {
			t.Fatalf("%s has no %s", body, old)
		}
		return strings.Replace(body, old, new, 1)
	}
	for _, c := range []struct {
		name    string
		handler fiber.Handler
		target  string
		body    string
		field   string
		reason  string
		kv      []string
	}{
		{"empty body", s.CreateProgramme, "/", ``, "body", "json", nil},
		{"not an object", s.CreateProgramme, "/", `[1]`, "body", "json", nil},
		{"not JSON", s.CreateProgramme, "/", `{"code": }`, "body", "json", nil},
		{"two objects", s.CreateProgramme, "/", `{} {}`, "body", "json", nil},
		{"wrong type", s.CreateProgramme, "/", `{"code": 5}`, "code", "json_type", nil},
		{"unknown field", s.CreateProgramme, "/", `{"colour": "red"}`, "colour", "unknown_field", nil},
		{"invalid UTF-8", s.CreateProgramme, "/", "{\"name\": \"\xff\"}", "name", "not_utf8", nil},
		{"programme code", s.CreateProgramme, "/", with(programme, `"living"`, `"生活"`), "code", "programme_code_format", nil},
		{"amount", s.CreateProgramme, "/", with(programme, `50000`, `0`), "amount_fen", "amount_range", []string{"max_fen", "10000000"}},
		{"stage", s.CreateProgramme, "/", with(programme, `"primary"`, `"college"`), "stage", "one_of", nil},
		{"exclusive group", s.CreateProgramme, "/", with(programme, `}`, `, "exclusive_group": "生活"}`), "exclusive_group", "programme_code_format", nil},
		{"unit code", s.CreateUnit, "/", with(unit, `"JS-T09"`, `"js-t09"`), "code", "unit_code_format", []string{"example", "JS-T01-S03"}},
		{"unit kind", s.CreateUnit, "/", with(unit, `"township_school"`, `"castle"`), "kind", "one_of", nil},
		{"parent unit", s.CreateUnit, "/", with(unit, `"JS"`, `""`), "parent_code", "required_below_bureau", nil},
		{"username", s.CreateUser, "/", with(user, `"u1"`, `"U 1"`), "username", "username_format", nil},
		{"password", s.CreateUser, "/", with(user, `"longenough"`, `"short"`), "password", "min_chars", []string{"min", "8"}},
		{"no roles", s.CreateUser, "/", with(user, `[{"role": "teacher", "unit_code": "JS"}]`, `[]`), "roles", "min_entries", []string{"min", "1"}},
		{"role", s.CreateUser, "/", with(user, `"teacher"`, `"wizard"`), "roles[0].role", "one_of", nil},
		{"role's unit", s.CreateUser, "/", with(user, `"JS"`, `""`), "roles[0].unit_code", "required", nil},
		{"outcome", s.CompleteTask, "/", `{}`, "outcome", "required", nil},
		{"transfer to", s.TransferTask, "/", `{}`, "to_user", "required", nil},
		{"decision", s.CloseEscalation, "/", `{"decision": "exile", "note": "x"}`, "decision", "one_of", nil},
		{"decision's note", s.CloseEscalation, "/", `{"decision": "no_action", "note": " "}`, "note", "required_for_decision", nil},
		{"batch's school", s.CreateBatch, "/", `{"term": "2026-2027-1"}`, "school_unit", "required", nil},
		{"absence date", s.RecordAbsence, "/", `{"date": "1/12/2026"}`, "date", "date_format", nil},
		{"open term", s.PutOpenTerms, "/", `{"items": ["2026-2028-1"]}`, "items[0]", "term_years", nil},
		{"omissions term", s.Omissions, "/?term=2026", ``, "term", "term_format", nil},
		{"list filter", s.ListApplications, "/?status=submited", ``, "status", "one_of", nil},
		{"list term", s.ListApplications, "/?term=2026-2028-1", ``, "term", "term_years", nil},
	} {
		app := NewApp(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
		app.Post("/", c.handler)
		app.Get("/", c.handler)
		method := "POST"
		if c.body == "" && strings.Contains(c.target, "?") {
			method = "GET"
		}
		req := httptest.NewRequest(method, c.target, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error Error }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		e := body.Error
		if resp.StatusCode != 400 || e.Code != "invalid" || e.Field != c.field || e.Params["reason"] != c.reason {
			t.Errorf("%s: %d %s field %q params %v (%s), want 400 invalid field %q reason %s", c.name, resp.StatusCode, e.Code, e.Field,
				e.Params, e.Message, c.field, c.reason)
		}
		for i := 0; i+1 < len(c.kv); i += 2 {
			if e.Params[c.kv[i]] != c.kv[i+1] {
				t.Errorf("%s: params %v, want %s=%s", c.name, e.Params, c.kv[i], c.kv[i+1])
			}
		}
	}
}

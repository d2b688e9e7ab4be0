package store

import (
	"context"
	"strings"
	"time"
)

// SendHomePlan is the ledger (台账) row of a send-to-home education plan (送教上门·一人一案):
// the plan, and its visits and hours this term against the quota.
type SendHomePlan struct {
	ID              string    `db:"id" json:"id"`
	WorkflowID      string    `db:"workflow_id" json:"workflow_id"`
	StudentID       string    `db:"student_id" json:"student_id"`
	StudentName     string    `db:"student_name" json:"student_name"`
	UnitID          string    `db:"unit_id" json:"unit_id"`
	UnitCode        string    `db:"unit_code" json:"unit_code"`
	UnitName        string    `db:"unit_name" json:"unit_name"`
	UnitPath        string    `db:"unit_path" json:"unit_path"`
	DisabilityType  string    `db:"disability_type" json:"disability_type"`
	DisabilityGrade string    `db:"disability_grade" json:"disability_grade"`
	TeacherIDs      string    `db:"teacher_ids" json:"-"`
	Goals           string    `db:"goals" json:"goals"`
	VisitsPerPeriod int       `db:"visits_per_period" json:"visits_per_period"`
	Period          string    `db:"period" json:"period"`
	MinMinutes      int       `db:"min_minutes" json:"min_minutes"`
	State           string    `db:"state" json:"state"`
	TermNo          int       `db:"term_no" json:"term_no"`
	TermStart       time.Time `db:"term_start" json:"term_start"`
	TermEnd         time.Time `db:"term_end" json:"term_end"`
	PeriodNo        int       `db:"period_no" json:"period_no"`
	PeriodStart     time.Time `db:"period_start" json:"period_start"`
	PeriodEnd       time.Time `db:"period_end" json:"period_end"`
	PeriodVisits    int       `db:"period_visits" json:"period_visits"`
	TermVisits      int       `db:"term_visits" json:"term_visits"`
	TermMinutes     int       `db:"term_minutes" json:"term_minutes"`
	TermQuota       int       `db:"term_quota" json:"term_quota"` // visits owed by the periods of the term begun so far
	MissedPeriods   int       `db:"missed_periods" json:"missed_periods"`
	TotalVisits     int       `db:"total_visits" json:"total_visits"`
	EndReason       string    `db:"end_reason" json:"end_reason,omitempty"`
	EndNote         string    `db:"end_note" json:"end_note,omitempty"`
	CreatedBy       string    `db:"created_by" json:"created_by"`
	CreatedAt       time.Time `db:"created_at" json:"created_at"`
	UpdatedAt       time.Time `db:"updated_at" json:"updated_at"`
}

// Teachers are the plan's teachers' user ids.
func (p SendHomePlan) Teachers() []string {
	if p.TeacherIDs == "" {
		return nil
	}
	return strings.Split(p.TeacherIDs, ",")
}

const sendHomeCols = `p.id, p.workflow_id, p.student_id, s.name AS student_name, p.unit_id, o.code AS unit_code, o.name AS unit_name,
	p.unit_path, p.disability_type, p.disability_grade, p.teacher_ids, p.goals, p.visits_per_period, p.period, p.min_minutes, p.state,
	p.term_no, p.term_start, p.term_end, p.period_no, p.period_start, p.period_end, p.period_visits, p.term_visits, p.term_minutes,
	p.term_quota, p.missed_periods, p.total_visits, p.end_reason, p.end_note, p.created_by, p.created_at, p.updated_at`
const sendHomeFrom = ` FROM send_home_plans p JOIN students s ON s.id = p.student_id JOIN org_units o ON o.id = p.unit_id `

// UpsertSendHomePlan writes a plan's row (idempotent: activities retry). Its creation time is
// the first write's (CreatedAt, when set, is the workflow's instant of the opening).
func (s *Store) UpsertSendHomePlan(ctx context.Context, p SendHomePlan) error {
	t := now()
	created := t
	if !p.CreatedAt.IsZero() {
		created = utc(p.CreatedAt)
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO send_home_plans (id, workflow_id, student_id, unit_id, unit_path, disability_type,
		disability_grade, teacher_ids, goals, visits_per_period, period, min_minutes, state, term_no, term_start, term_end, period_no,
		period_start, period_end, period_visits, term_visits, term_minutes, term_quota, missed_periods, total_visits, end_reason,
		end_note, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, term_no = excluded.term_no, term_start = excluded.term_start,
		term_end = excluded.term_end, period_no = excluded.period_no, period_start = excluded.period_start,
		period_end = excluded.period_end, period_visits = excluded.period_visits, term_visits = excluded.term_visits,
		term_minutes = excluded.term_minutes, term_quota = excluded.term_quota, missed_periods = excluded.missed_periods,
		total_visits = excluded.total_visits, end_reason = excluded.end_reason, end_note = excluded.end_note,
		updated_at = excluded.updated_at`,
		p.ID, p.WorkflowID, p.StudentID, p.UnitID, p.UnitPath, p.DisabilityType, p.DisabilityGrade, p.TeacherIDs, p.Goals,
		p.VisitsPerPeriod, p.Period, p.MinMinutes, p.State, p.TermNo, utc(p.TermStart), utc(p.TermEnd), p.PeriodNo,
		utc(p.PeriodStart), utc(p.PeriodEnd), p.PeriodVisits, p.TermVisits, p.TermMinutes, p.TermQuota, p.MissedPeriods,
		p.TotalVisits, p.EndReason, p.EndNote, p.CreatedBy, created, t)
	return err
}

// SendHomePlanByID reads one plan.
func (s *Store) SendHomePlanByID(ctx context.Context, id string) (SendHomePlan, error) {
	var p SendHomePlan
	err := s.get(ctx, s.db, &p, `SELECT `+sendHomeCols+sendHomeFrom+`WHERE p.id = ?`, id)
	return p, err
}

// SendHomePlans lists the ledger within scopes (nil: all), optionally narrowed to a unit subtree
// and a state; the plans most behind their quota first.
func (s *Store) SendHomePlans(ctx context.Context, scopes []string, unitPath, state string) ([]SendHomePlan, error) {
	query, args := `SELECT `+sendHomeCols+sendHomeFrom+`WHERE 1=1`, []any{}
	scope, scopeArgs := s.underAnyPath("p.unit_path", scopes)
	under, underArgs := s.underPath("p.unit_path", unitPath)
	query, args = query+" AND "+scope+" AND "+under, append(append(args, scopeArgs...), underArgs...)
	if state != "" {
		query += " AND p.state = ?"
		args = append(args, state)
	}
	var ps []SendHomePlan
	err := s.sel(ctx, s.db, &ps, query+" ORDER BY p.missed_periods DESC, p.created_at DESC LIMIT 500", args...)
	return ps, err
}

// SendHomeVisit is one visit of a plan (送教记录).
type SendHomeVisit struct {
	ID           string    `db:"id" json:"id"`
	PlanID       string    `db:"plan_id" json:"plan_id"`
	TermNo       int       `db:"term_no" json:"term_no"`
	PeriodNo     int       `db:"period_no" json:"period_no"`
	VisitedOn    string    `db:"visited_on" json:"visited_on"`
	Minutes      int       `db:"minutes" json:"minutes"`
	Content      string    `db:"content" json:"content"`
	EvidenceNote string    `db:"evidence_note" json:"evidence_note"`
	TeacherIDs   string    `db:"teacher_ids" json:"teacher_ids"`
	Assessment   bool      `db:"assessment" json:"assessment"`
	ByUser       string    `db:"by_user" json:"by_user"`
	At           time.Time `db:"at" json:"at"`
}

// InsertSendHomeVisit records a visit once.
func (s *Store) InsertSendHomeVisit(ctx context.Context, v SendHomeVisit) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO send_home_visits (id, plan_id, term_no, period_no, visited_on, minutes, content,
		evidence_note, teacher_ids, assessment, by_user, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		v.ID, v.PlanID, v.TermNo, v.PeriodNo, v.VisitedOn, v.Minutes, v.Content, v.EvidenceNote, v.TeacherIDs, v.Assessment, v.ByUser, utc(v.At))
	return err
}

// SendHomeVisits lists a plan's visits in the order they were logged.
func (s *Store) SendHomeVisits(ctx context.Context, planID string) ([]SendHomeVisit, error) {
	var vs []SendHomeVisit
	err := s.sel(ctx, s.db, &vs, `SELECT id, plan_id, term_no, period_no, visited_on, minutes, content, evidence_note, teacher_ids,
		assessment, by_user, at FROM send_home_visits WHERE plan_id = ? ORDER BY at, id`, planID)
	return vs, err
}

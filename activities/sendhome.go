package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// SendHomeRow is the ledger row of a send-home plan as the workflow keeps it (a plain struct:
// store.SendHomePlan hides its teacher list from JSON, and activity arguments cross as JSON).
type SendHomeRow struct {
	ID, WorkflowID, StudentID, StudentName string
	UnitID, UnitCode, UnitName, UnitPath   string
	DisabilityType, DisabilityGrade        string
	TeacherIDs                             []string
	Goals                                  string
	VisitsPerPeriod                        int
	Period                                 string
	MinMinutes                             int
	State                                  string
	TermNo                                 int
	TermStart, TermEnd                     time.Time
	PeriodNo                               int
	PeriodStart, PeriodEnd                 time.Time
	PeriodVisits, TermVisits, TermMinutes  int
	TermQuota, MissedPeriods, TotalVisits  int
	EndReason, EndNote                     string
	CreatedBy                              string
	CreatedAt                              time.Time
}

func (r SendHomeRow) row() store.SendHomePlan {
	return store.SendHomePlan{ID: r.ID, WorkflowID: r.WorkflowID, StudentID: r.StudentID, UnitID: r.UnitID, UnitPath: r.UnitPath,
		DisabilityType: r.DisabilityType, DisabilityGrade: r.DisabilityGrade, TeacherIDs: strings.Join(r.TeacherIDs, ","), Goals: r.Goals,
		VisitsPerPeriod: r.VisitsPerPeriod, Period: r.Period, MinMinutes: r.MinMinutes, State: r.State, TermNo: r.TermNo,
		TermStart: r.TermStart, TermEnd: r.TermEnd, PeriodNo: r.PeriodNo, PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd,
		PeriodVisits: r.PeriodVisits, TermVisits: r.TermVisits, TermMinutes: r.TermMinutes, TermQuota: r.TermQuota,
		MissedPeriods: r.MissedPeriods, TotalVisits: r.TotalVisits, EndReason: r.EndReason, EndNote: r.EndNote,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
}

// OpenSendHomeInput opens a plan: its row as the workflow fills it (the student's unit is found here).
type OpenSendHomeInput struct {
	Row SendHomeRow
	By  access.Actor
	At  time.Time
}

// OpenSendHomePlan finds the student's school and puts the plan on record. The row is written
// again by the workflow once its first period is counted.
func (a *Activities) OpenSendHomePlan(ctx context.Context, in OpenSendHomeInput) (SendHomeRow, error) {
	st, err := a.Store.StudentByID(ctx, in.Row.StudentID)
	if err != nil {
		return SendHomeRow{}, nonRetryable(fmt.Errorf("student %s: %w", in.Row.StudentID, err))
	}
	r := in.Row
	r.StudentName, r.UnitID, r.UnitCode, r.UnitName, r.UnitPath = st.Name, st.UnitID, st.UnitCode, st.UnitName, st.UnitPath
	r.CreatedAt = in.At
	r.PeriodStart, r.PeriodEnd, r.TermEnd = r.TermStart, r.TermStart, r.TermStart
	if err := a.Store.UpsertSendHomePlan(ctx, r.row()); err != nil {
		return r, err
	}
	role := ""
	for _, ro := range []string{casework.RoleSchoolLeader, casework.RoleSchoolStaff, casework.RoleTownshipStaff, casework.RoleEducationSection} {
		if in.By.Can(ro, st.UnitPath) {
			role = ro
			break
		}
	}
	return r, a.audit(ctx, Audit{Actor: in.By, Role: role, Action: "sendhome.opened", Process: casework.ProcessSendHome, CaseID: r.ID,
		After: map[string]any{"state": r.State, "student_id": st.ID, "unit": st.UnitCode, "teacher_ids": r.TeacherIDs,
			"disability_type": r.DisabilityType, "disability_grade": r.DisabilityGrade, "visits_per_period": r.VisitsPerPeriod,
			"period": r.Period, "min_minutes": r.MinMinutes}, At: in.At}, "")
}

// SendHomeStep writes a plan's row, with its audit entry when the step is one people read.
type SendHomeStep struct {
	Row   SendHomeRow
	Audit *Audit
}

// SetSendHomePlan applies a step of the plan's workflow to the ledger.
func (a *Activities) SetSendHomePlan(ctx context.Context, in SendHomeStep) error {
	if err := a.Store.UpsertSendHomePlan(ctx, in.Row.row()); err != nil {
		return err
	}
	if in.Audit == nil {
		return nil
	}
	return a.audit(ctx, *in.Audit, "")
}

// SendHomeVisitInput is one visit; ID derives from the plan and the visit's number, so a retry
// writes it once.
type SendHomeVisitInput struct {
	ID, PlanID       string
	TermNo, PeriodNo int
	VisitedOn        string
	Minutes          int
	Content          string
	EvidenceNote     string
	TeacherIDs       []string
	Assessment       bool
	By               access.Actor
	Role             string
	At               time.Time
}

// RecordSendHomeVisit records a visit and puts it on record.
func (a *Activities) RecordSendHomeVisit(ctx context.Context, in SendHomeVisitInput) error {
	if err := a.Store.InsertSendHomeVisit(ctx, store.SendHomeVisit{ID: in.ID, PlanID: in.PlanID, TermNo: in.TermNo, PeriodNo: in.PeriodNo,
		VisitedOn: in.VisitedOn, Minutes: in.Minutes, Content: in.Content, EvidenceNote: in.EvidenceNote,
		TeacherIDs: strings.Join(in.TeacherIDs, ","), Assessment: in.Assessment, ByUser: in.By.UserID, At: in.At}); err != nil {
		return err
	}
	return a.audit(ctx, Audit{Actor: in.By, Role: in.Role, Action: "sendhome.visit_logged", Process: casework.ProcessSendHome, CaseID: in.PlanID,
		After: map[string]any{"visit_id": in.ID, "visited_on": in.VisitedOn, "minutes": in.Minutes, "teacher_ids": in.TeacherIDs,
			"period": in.PeriodNo, "assessment": in.Assessment}, At: in.At}, "")
}

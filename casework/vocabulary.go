// Package casework is the vocabulary every process shares and the one registry of processes
// (registry.go): roles, task and escalation states, escalation targets, the task as inboxes show
// it, and for each process its task kinds, outcomes, case-deadline kinds, states and settings,
// with their Chinese labels. It imports nothing of jiaofu's, so that the workflows, the store,
// the API and the console all speak it without depending on each other.
package casework

import (
	"strings"
	"time"
)

// Role names, fixed names that clients use.
const (
	RoleSchoolStaff      = "school_staff"
	RoleTeacher          = "teacher"
	RoleSchoolLeader     = "school_leader"
	RoleTownshipStaff    = "township_staff"
	RoleAidCenter        = "aid_center"
	RoleEducationSection = "education_section"
	RolePAOffice         = "pa_office"
	RoleInspector        = "inspector"
	RoleSupervision      = "supervision"
	RoleBureauLeader     = "bureau_leader"
	RoleAdmin            = "admin"
	// RoleSectionStaff: the staff of a bureau section (股室工作人员) for the plan's duties of their
	// section; unlike the sections' business roles it reaches its own section only (access.Role.Scope).
	RoleSectionStaff = "section_staff"
	// RoleFundsCenter is the funds center (经费中心): it records the hardship fund's donations and
	// pays its grants.
	RoleFundsCenter = "funds_center"
)

// Roles lists every valid role.
var Roles = []string{RoleSchoolStaff, RoleTeacher, RoleSchoolLeader, RoleTownshipStaff, RoleAidCenter,
	RoleEducationSection, RolePAOffice, RoleInspector, RoleSupervision, RoleBureauLeader, RoleAdmin, RoleSectionStaff, RoleFundsCenter}

// Task states.
const (
	TaskOpen      = "open"
	TaskDone      = "done"
	TaskCancelled = "cancelled"
)

// OutcomeWithdrawn is the result of a task whose case the owner withdrew (撤回).
const OutcomeWithdrawn = "withdrawn"

// Task is a human task (待办) as the store holds and inboxes show it: the projection of the task
// its workflow holds.
type Task struct {
	ID              string     `db:"id" json:"id"`
	WorkflowID      string     `db:"workflow_id" json:"workflow_id"`
	Process         string     `db:"process" json:"process"`
	Kind            string     `db:"kind" json:"kind" schema:"TaskKind"`
	CaseID          string     `db:"case_id" json:"case_id"`
	Title           string     `db:"title" json:"title"`
	CandidateRole   string     `db:"candidate_role" json:"candidate_role"`
	UnitID          string     `db:"unit_id" json:"unit_id"`
	UnitCode        string     `db:"unit_code" json:"unit_code"`
	UnitName        string     `db:"unit_name" json:"unit_name"`
	UnitPath        string     `db:"unit_path" json:"unit_path"`
	AssigneeID      string     `db:"assignee_id" json:"assignee_id,omitempty"`
	State           string     `db:"state" json:"state"`
	Outcome         string     `db:"outcome" json:"outcome,omitempty" schema:"TaskResultOutcome"`
	Outcomes        string     `db:"outcomes" json:"outcomes"`
	DueAt           time.Time  `db:"due_at" json:"due_at"`
	EscalationLevel int        `db:"escalation_level" json:"escalation_level"`
	UrgeCount       int        `db:"urge_count" json:"urge_count"`
	CreatedAt       time.Time  `db:"created_at" json:"created_at"`
	CompletedAt     *time.Time `db:"completed_at" json:"completed_at,omitempty"`
	CompletedBy     string     `db:"completed_by" json:"completed_by,omitempty"`
	// Revision orders the workflow's projections of the task (store.ProjectTask); it crosses the
	// wire in activity inputs, so it must not be hidden from JSON.
	Revision int `db:"revision" json:"revision"`
	// DelegateID is who the task is delegated to (委派) while they have not resolved it: it is in
	// their inbox, and still its assignee's (the owner's), who completes it.
	DelegateID string `db:"delegate_id" json:"delegate_id,omitempty"`
	// StepID is the id of the multi-approver step the task is one signer's part of (its first
	// task's id; "" for a task on its own); Signing how its signer signs: the step's mode (all,
	// any, ratio:2/3, sequence), or before, after, parallel for a signer added (加签) to the task
	// AddedTo.
	StepID  string `db:"step_id" json:"step_id,omitempty"`
	Signing string `db:"signing" json:"signing,omitempty"`
	AddedTo string `db:"added_to" json:"added_to,omitempty"`
	// OwnerID may withdraw the case at this task (撤回) while nobody has taken it up.
	OwnerID string `db:"owner_id" json:"owner_id,omitempty"`
}

// Holder is who holds a task: its delegate while it is delegated, else its assignee ("" for a
// task nobody has taken). An escalation names the holder (activities Escalate).
func Holder(assignee, delegate string) string {
	if delegate != "" {
		return delegate
	}
	return assignee
}

// AllowedOutcomes splits the stored outcome list.
func (t Task) AllowedOutcomes() []string {
	if t.Outcomes == "" {
		return nil
	}
	return strings.Split(t.Outcomes, ",")
}

// Escalation targets a rung may name, resolved to a unit and a responsible person in one place
// (activities.targetUnit, activities.responsibleFor).
const (
	TargetRemind      = "remind"
	TargetSuperior    = "superior"
	TargetTownshipGov = "township_gov"
	TargetCountyHQ    = "county_hq"
	TargetSupervision = "supervision"
	// TargetTeacher reminds the person who holds the duty (a task's holder, a pairing's or a
	// send-home plan's teacher), at the late unit.
	TargetTeacher = "teacher"
	// TargetSchoolLeader goes to the leader (校长) of the late unit's school.
	TargetSchoolLeader = "school_leader"
	// TargetEducationSection goes to the bureau's education section (教育股), which runs the
	// county's special-education resource centre (特殊教育资源中心).
	TargetEducationSection = "education_section"
	// TargetBureauLeader is the bureau itself (局领导): where a duty of the bureau's own offices
	// goes when it is not met (the supervision office's organisational handling past its month).
	TargetBureauLeader = "bureau_leader"
)

// EscalationTargets lists every valid target.
var EscalationTargets = []string{TargetRemind, TargetTeacher, TargetSchoolLeader, TargetSuperior, TargetEducationSection,
	TargetTownshipGov, TargetCountyHQ, TargetSupervision, TargetBureauLeader}

// Escalation states.
const (
	EscalationOpen   = "open"
	EscalationClosed = "closed"
)

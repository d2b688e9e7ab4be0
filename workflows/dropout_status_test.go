package workflows

import (
	"strings"
	"testing"
	"time"

	"jiaofu/calendar"
	"jiaofu/casework"
)

// TestDropoutStatusAgreesWithReplies: the replies of a relapse and of the next attempt tell what
// the case's status then says: a reopened case has no first contact yet and no deadline already
// past; the attempt logged at once is the new round's first contact, as the status shows.
func TestDropoutStatusAgreesWithReplies(t *testing.T) {
	f := newDropoutFixture(t)
	// Back in school within the hour, before any attempt: the first round had no contact.
	f.updateAt(time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeReturned, Note: "已返校", Actor: dtStaff})
	// Reopened on 12 April, when the first round's deadlines (18 March, 2 April) are long past.
	relapseAt := dtDays(40)
	relapse := f.updateAt(relapseAt, RecordAbsenceUpdate, DropoutAbsence{Date: "2025-04-11", Actor: dtTeacher})
	attempt := f.updateAt(relapseAt, LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "电话联系家长", Actor: dtTeacher})
	after := f.queryAt(relapseAt + time.Hour)
	f.updateAt(relapseAt+dtDays(2), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "入读职校", Actor: dtStaff})
	f.run(dtInput())

	relapse.mustComplete(t, "relapse")
	attempt.mustComplete(t, "attempt")
	now := dtStart.Add(relapseAt)
	st := relapse.result.(DropoutStatus)
	if st.State != casework.DropoutOpen || st.FirstContactDone {
		t.Errorf("relapse answered %+v: want open, no first contact yet", st)
	}
	for name, at := range map[string]*time.Time{"township_due_at": st.TownshipDueAt, "county_due_at": st.CountyDueAt} {
		if at != nil && at.Before(now) {
			t.Errorf("relapse answered %s %v, already past at %v", name, at, now)
		}
	}
	got := attempt.result.(AttemptLogged)
	if got.FirstContact != after.FirstContactDone || !after.FirstContactDone || after.Attempts != 1 {
		t.Errorf("attempt answered first_contact %v; status then says first_contact_done %v (%+v): want both true",
			got.FirstContact, after.FirstContactDone, after)
	}
	if after.TownshipDueAt == nil || !after.TownshipDueAt.Equal(now.Add(dtDays(15))) {
		t.Errorf("status after the relapse: township deadline %v, want 15 days after %v", after.TownshipDueAt, now)
	}
}

// TestDropoutNoticeSaysWhatHappened: the 限期返校通知书 words what the record shows: no attempt
// logged, the school has no persuasion on record; attempts logged, how many.
func TestDropoutNoticeSaysWhatHappened(t *testing.T) {
	notice := func(attempts int) string {
		t.Helper()
		f := newDropoutFixture(t)
		for i := range attempts {
			f.updateAt(time.Duration(i+1)*time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodHomeVisit, Notes: "家访", Actor: dtTeacher})
		}
		f.updateAt(dtDays(16), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "入读职校", Actor: dtStaff})
		f.run(dtInput())
		for _, s := range f.steps {
			if s.Audit.Action == "dropout.return_notice" {
				n, _ := s.Audit.After.(map[string]any)["notice"].(string)
				return n
			}
		}
		t.Fatalf("no return notice with %d attempts: %v", attempts, f.stepActions())
		return ""
	}
	if n := notice(0); strings.Contains(n, "经劝返") || !strings.Contains(n, "尚无劝返记录") {
		t.Errorf("no attempt logged, the notice says %q", n)
	}
	if n := notice(2); !strings.Contains(n, "经 2 次劝返") {
		t.Errorf("two attempts logged, the notice says %q", n)
	}
}

// TestDropoutAttemptAtARelapseIsItsFirstContact: an attempt logged as the case reopens, while the
// run would otherwise wind down to continue as new, is the new round's first contact, in its
// reply and in the status after it.
func TestDropoutAttemptAtARelapseIsItsFirstContact(t *testing.T) {
	f := newDropoutFixture(t)
	at := time.Hour
	var attempt *dtUpdate
	for i := range dropoutRelapsesPerRun {
		f.updateAt(at, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeReturned, Actor: dtStaff})
		day := dtStart.Add(at + dtDays(1)).In(calendar.CST).Format("2006-01-02")
		f.updateAt(at+dtDays(1), RecordAbsenceUpdate, DropoutAbsence{Date: day, Actor: dtTeacher})
		if i == dropoutRelapsesPerRun-1 {
			attempt = f.updateAt(at+dtDays(1), LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "电话联系家长", Actor: dtTeacher})
		}
		at += dtDays(2)
	}
	after := f.queryAt(at)
	f.updateAt(at+time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "入读职校", Actor: dtStaff})
	f.run(dtInput())

	attempt.mustComplete(t, "attempt at the relapse")
	if got := attempt.result.(AttemptLogged); !got.FirstContact || !after.FirstContactDone || after.Relapses != dropoutRelapsesPerRun {
		t.Errorf("attempt answered %+v; status after it %+v: want the new round's first contact in both", got, after)
	}
}

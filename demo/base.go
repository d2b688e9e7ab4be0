// Package demo creates what a new installation needs (the bureau, its supervision office, the
// default escalation ladders, the admin user) and, in development, Jianshi County demo data so a
// new user can try every process at once.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// Codes of the units every installation has.
const (
	BureauCode      = "JS"
	SupervisionCode = "JS-JCS"
	AidCenterCode   = "JS-ZZZX"
	CountyHQCode    = "JS-HQ"
)

// DefaultLadders are the escalation ladders installed on first start: a reminder when the task
// falls due, the responsible unit's superior a working day later, the supervision office two
// working days later. Admins change them with PUT /api/v1/admin/escalation-ladders/{kind}.
var DefaultLadders = map[string][]store.Rung{
	"default": {{After: "1s", Target: casework.TargetRemind}, {After: "1wd", Target: casework.TargetSuperior}, {After: "2wd", Target: casework.TargetSupervision}},
}

// HashFunc hashes a password (the API's argon2id, passed in to keep this package free of it).
type HashFunc func(string) (string, error)

// Bootstrap makes sure the base units, ladders and the admin user exist. It returns the admin's
// password when it generated one (development mode without JIAOFU_ADMIN_PASSWORD).
func Bootstrap(ctx context.Context, st *store.Store, adminPassword string, hash HashFunc) (generated string, err error) {
	for _, u := range []struct{ code, name, kind, parent string }{
		{BureauCode, "建始县教育局", store.KindBureau, ""},
		{SupervisionCode, "县教育局监察室", store.KindSection, BureauCode},
		{AidCenterCode, "县学生资助管理中心", store.KindSection, BureauCode},
		{CountyHQCode, "县脱贫攻坚指挥部", store.KindCountyHQ, BureauCode},
	} {
		if err := ensureUnit(ctx, st, u.code, u.name, u.kind, u.parent, ""); err != nil {
			return "", err
		}
	}
	if rs, err := st.Ladders(ctx); err != nil {
		return "", err
	} else if len(rs) == 0 {
		for kind, rungs := range DefaultLadders { // SetLadder replaces atomically: a concurrent start writes the same rungs
			if err := st.SetLadder(ctx, kind, rungs); err != nil {
				return "", err
			}
		}
	}
	if _, err := st.UserByUsername(ctx, "admin"); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	pw := adminPassword
	if pw == "" {
		var b [9]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		pw, generated = hex.EncodeToString(b[:]), hex.EncodeToString(b[:])
	}
	h, err := hash(pw)
	if err != nil {
		return "", err
	}
	if _, err := st.CreateUser(ctx, "admin", h, "系统管理员", []store.RoleAt{{Role: casework.RoleAdmin, UnitCode: BureauCode}}); errors.Is(err, store.ErrConflict) {
		return "", nil // another process (api beside worker) created it first
	} else if err != nil {
		return "", fmt.Errorf("create admin: %w", err)
	}
	return generated, nil
}

// ResetAdminPassword gives user admin a new password — password, or a generated one (returned)
// when it is empty — and makes the account active again, ending its sessions: the way back in
// when the admin's password is lost (jiaofu reset-admin-password). It is on the audit trail.
func ResetAdminPassword(ctx context.Context, st *store.Store, password string, hash HashFunc) (generated string, err error) {
	u, err := st.UserByUsername(ctx, "admin")
	if errors.Is(err, store.ErrNotFound) {
		return "", errors.New("there is no user admin yet: start jiaofu once, it creates one")
	} else if err != nil {
		return "", err
	}
	if password == "" {
		var b [9]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		password, generated = hex.EncodeToString(b[:]), hex.EncodeToString(b[:])
	}
	h, err := hash(password)
	if err != nil {
		return "", err
	}
	active := true
	if _, err := st.UpdateUser(ctx, u.ID, store.UserChange{PasswordHash: &h, Active: &active}); err != nil {
		return "", err
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	err = st.Append(ctx, store.AuditEntry{EventKey: "admin.password_reset/" + hex.EncodeToString(nonce[:]), At: time.Now().UTC(),
		ActorID: access.System.UserID, ActorName: access.System.DisplayName, Action: "user.updated", Process: "admin", CaseID: u.ID,
		Before: `{"active":` + strconv.FormatBool(u.Active) + `}`, After: `{"active":true,"password_reset":true,"by":"jiaofu reset-admin-password"}`})
	return generated, err
}

func ensureUnit(ctx context.Context, st *store.Store, code, name, kind, parent, township string) error {
	if _, err := st.UnitByCode(ctx, code); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err := st.CreateUnit(ctx, code, name, kind, parent, township)
	if errors.Is(err, store.ErrConflict) {
		return nil // created concurrently by another process starting at the same time
	}
	return err
}

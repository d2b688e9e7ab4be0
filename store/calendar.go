package store

import (
	"context"

	"github.com/jmoiron/sqlx"

	"jiaofu/calendar"
)

// CalendarDays returns the admin's additions to the embedded holiday calendar.
func (s *Store) CalendarDays(ctx context.Context) ([]calendar.Day, error) {
	var rows []struct {
		Day  string `db:"day"`
		Type string `db:"type"`
		Name string `db:"name"`
	}
	if err := s.sel(ctx, s.db, &rows, `SELECT day, type, name FROM calendar_days ORDER BY day`); err != nil {
		return nil, err
	}
	days := make([]calendar.Day, len(rows))
	for i, r := range rows {
		days[i] = calendar.Day{Date: r.Day, Type: calendar.DayType(r.Type), Name: r.Name}
	}
	return days, nil
}

// PutCalendarDays adds or replaces calendar days (e.g. next year's holidays) in one transaction.
func (s *Store) PutCalendarDays(ctx context.Context, days []calendar.Day) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		for _, d := range days {
			if _, err := s.exec(ctx, tx, `INSERT INTO calendar_days (day, type, name) VALUES (?, ?, ?)
				ON CONFLICT (day) DO UPDATE SET type = excluded.type, name = excluded.name`, d.Date, string(d.Type), d.Name); err != nil {
				return err
			}
		}
		return nil
	})
}

// Calendar returns the embedded calendar with the admin's additions applied.
func (s *Store) Calendar(ctx context.Context) (*calendar.Calendar, error) {
	days, err := s.CalendarDays(ctx)
	if err != nil {
		return nil, err
	}
	return calendar.Default().With(days)
}

// Setting reads a key from the settings table.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.get(ctx, s.db, &v, `SELECT value FROM settings WHERE key = ?`, key)
	return v, err
}

// PutSetting writes a key.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

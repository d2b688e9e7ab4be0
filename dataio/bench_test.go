package dataio_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jiaofu/dataio"
	"jiaofu/store"
)

// BenchmarkImport60000Students imports a county's roster of 60,000 pupils (an .xlsx the benchmark
// makes, two schools) on SQLite and, with TEST_DATABASE_URL, on PostgreSQL: the first import
// creates every student with its audit entry, the second finds every row unchanged. It prints
// rows per second of each, file reading included (docs/benchmarks.md).
//
//	go test -run '^$' -bench Import60000 -benchtime 1x ./dataio/
func BenchmarkImport60000Students(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchmarkImport(b, newCounty) })
	b.Run("postgres", func(b *testing.B) { benchmarkImport(b, newCountyOnPostgres) })
}

func benchmarkImport(b *testing.B, newCounty func(testing.TB) county) {
	const n = 60_000
	rows := make([][]string, n)
	schools := []string{"JS-T01-S01", "JS-T01-S02"}
	for i := range rows {
		birth := fmt.Sprintf("%d-%02d-%02d", 2011+i%9, i%12+1, i%28+1)
		rows[i] = studentRow(fmt.Sprintf("学生%05d", i), birth, i%1000, schools[i%2], fmt.Sprint(i%9+1), fmt.Sprint(i%12+1))
		rows[i][0] = fmt.Sprintf("L%08d", i) // 学籍号 unique however the ID-card numbers repeat
		rows[i][4] = ""
	}
	file := xlsx(b, studentHeader(), rows...)
	b.Logf("workbook: %d rows, %.1f MB", n, float64(len(file))/(1<<20))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newCounty(b)
		c.staff.Roles = append(c.staff.Roles, c.staff.Roles[0])
		c.staff.Roles[1].UnitCode, c.staff.Roles[1].UnitPath = "JS-T01-S02", "/JS/JS-T01/JS-T01-S02/"
		b.StartTimer()
		start := time.Now()
		im := runImportOnce(b, c, file)
		first := time.Since(start)
		if im.Created != n || !im.Applied {
			b.Fatalf("first import: created %d of %d: %s", im.Created, n, im.ErrorsJSON[:min(300, len(im.ErrorsJSON))])
		}
		start = time.Now()
		im = runImportOnce(b, c, file)
		again := time.Since(start)
		if im.Unchanged != n {
			b.Fatalf("re-import: unchanged %d of %d", im.Unchanged, n)
		}
		b.ReportMetric(float64(n)/first.Seconds(), "rows/s_first")
		b.ReportMetric(float64(n)/again.Seconds(), "rows/s_again")
		b.Logf("60,000 rows: first import %.1fs (%.0f rows/s), re-import %.1fs (%.0f rows/s)", first.Seconds(), float64(n)/first.Seconds(),
			again.Seconds(), float64(n)/again.Seconds())
	}
}

// runImportOnce uploads and runs an import once (the benchmark's timing excludes the second,
// idempotent run runImport makes).
func runImportOnce(b *testing.B, c county, file []byte) store.Import {
	b.Helper()
	ctx := context.Background()
	im, err := c.st.CreateImport(ctx, store.Import{ID: store.NewID("imp"), Kind: "students", Mode: dataio.ModeAllOrNothing, FileName: "bench.xlsx",
		ActorJSON: mustActorJSON(c), CreatedBy: c.staff.UserID}, file)
	if err != nil {
		b.Fatal(err)
	}
	if err := dataio.Run(ctx, c.st, im.ID, nil); err != nil {
		b.Fatal(err)
	}
	im, err = c.st.ImportByID(ctx, im.ID)
	if err != nil {
		b.Fatal(err)
	}
	return im
}

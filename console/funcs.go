package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/store"
)

// labels are the Chinese names of the API's fixed values, by category; modules add theirs.
var labels = map[string]map[string]string{
	"task": {"open": "待办", "done": "已办", "cancelled": "已撤销"},
	"outcome": {"approve": "同意", "reject": "不同意", "return": "退回修改", "resubmit": "重新提交", "withdraw": "撤回申请",
		"uphold": "异议成立", "dismiss": "异议不成立", "contacted": "已联系家长", "withdrawn": "已撤销"},
	"role": {"school_staff": "资助专干", "teacher": "帮扶教师", "school_leader": "校领导", "township_staff": "中心学校专干",
		"aid_center": "资助中心", "education_section": "教育股", "pa_office": "局扶贫办", "inspector": "督导办",
		"supervision": "监察室", "bureau_leader": "局领导", "admin": "系统管理员"},
	"target":     {"remind": "到期提醒", "superior": "上级单位", "township_gov": "乡镇政府", "county_hq": "县脱贫攻坚指挥部", "supervision": "监察室"},
	"escalation": {"open": "未处理", "closed": "已处理"},
	"decision": {"no_action": "不予问责", "reminder_talk": "提醒谈话", "circulated_criticism": "通报批评", "admonishment": "诫勉谈话",
		"referred": "移送处理", "task completed": "待办已办结"},
	"unitkind": {"bureau": "教育局", "section": "局属股室", "township_school": "乡镇中心学校", "school": "学校", "kindergarten": "幼儿园",
		"township_gov": "乡镇政府", "county_hq": "县指挥部"},
	"action": {"task.opened": "生成待办", "task.completed": "办理", "task.claimed": "领取待办", "task.unclaimed": "释放待办",
		"task.transferred": "转办", "task.urged": "催办", "task.withdrawn": "撤销待办",
		"escalation.remind": "到期提醒", "escalation.superior": "上报上级单位", "escalation.township_gov": "报乡镇政府督办",
		"escalation.county_hq": "报县指挥部督办", "escalation.supervision": "报监察室", "escalation.closed": "监察室作出处理",
		"student.created": "新增学生", "user.created": "新增用户", "user.updated": "修改用户", "org_unit.created": "新增单位",
		"programme.created": "新增资助项目", "programme.updated": "修改资助项目"},
}

func addLabels(cat string, m map[string]string) {
	if labels[cat] == nil {
		labels[cat] = map[string]string{}
	}
	for k, v := range m {
		labels[cat][k] = v
	}
}

// zh is a fixed value's Chinese name, or the value itself.
func zh(cat, key string) string {
	if l, ok := labels[cat][key]; ok {
		return l
	}
	return key
}

func kindLabel(kind string) string {
	for _, m := range modules {
		if l, ok := m.Kinds[kind]; ok {
			return l
		}
	}
	return kind
}

func processLabel(p string) string {
	if m := moduleOf(p); m != nil {
		return m.Label
	}
	return p
}

// cst shows an instant in China time, 2006-01-02 15:04.
func cst(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		t = *x
	default:
		return "—"
	}
	if t.IsZero() {
		return "—"
	}
	return calendar.Show(t)
}

// termLabel shows a term as people write it: 2026-2027-1 is 2026—2027学年第一学期 (1 the autumn
// term, 2 the spring term); anything else is shown as it is.
func termLabel(term string) string {
	var a, b, n int
	if _, err := fmt.Sscanf(term, "%4d-%4d-%1d", &a, &b, &n); err != nil || (n != 1 && n != 2) || fmt.Sprintf("%d-%d-%d", a, b, n) != term {
		return term
	}
	return fmt.Sprintf("%d—%d学年第%s学期", a, b, map[int]string{1: "一", 2: "二"}[n])
}

// yuan shows fen as ¥ yuan with two decimals.
func yuan(fen int64) string {
	if fen < 0 {
		return "-¥" + api.Yuan(-fen)
	}
	return "¥" + api.Yuan(fen)
}

// dueIn says how long until (or since) a due time, roughly.
func dueIn(t time.Time) string {
	d := time.Until(t)
	over := d < 0
	if over {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "不到 1 分钟"
	case d < time.Hour:
		s = fmt.Sprintf("%d 分钟", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d 小时", int(d.Hours()))
	default:
		s = fmt.Sprintf("%d 天", int(d.Hours()/24))
	}
	if over {
		return "已逾期 " + s
	}
	return "剩 " + s
}

// auditSummary turns an audit entry's after-state into a short Chinese line.
func auditSummary(e store.AuditEntry) string {
	var m map[string]any
	if json.Unmarshal([]byte(e.After), &m) != nil || len(m) == 0 {
		return ""
	}
	stateCat := "task"
	if mod := moduleOf(e.Process); mod != nil && mod.StateLabels != nil {
		stateCat = mod.StateLabels(e.CaseID)
	}
	// An objection is audited on its batch's case but carries its own state and decision.
	decisionCat := "decision"
	if strings.HasPrefix(e.Action, "objection.") {
		stateCat, decisionCat = "objection", "outcome"
	}
	var parts []string
	add := func(label, v string) {
		if v = strings.TrimSpace(v); v != "" {
			parts = append(parts, label+"："+v)
		}
	}
	str := func(k string) string {
		switch x := m[k].(type) {
		case string:
			return x
		case float64:
			return fmt.Sprint(x)
		case bool:
			if x {
				return "是"
			}
			return "否"
		}
		return ""
	}
	if k := str("kind"); k != "" {
		add("事项", kindLabel(k))
	}
	if o := str("outcome"); o != "" {
		add("结果", zh("outcome", o))
	}
	if st := str("state"); st != "" && str("kind") == "" {
		add("状态", zh(stateCat, st))
	}
	for _, k := range []struct{ key, label string }{{"comment", "意见"}, {"note", "说明"}, {"reason", "原因"}, {"notice", "通知"},
		{"to_user", "转办给"}, {"receiving_school", "转入学校"}, {"method", "方式"}, {"notes", "记录"}, {"channel", "发放方式"}} {
		v := str(k.key)
		if k.key == "method" {
			v = zh("method", v)
		}
		add(k.label, v)
	}
	if d := str("decision"); d != "" {
		add("处理决定", zh(decisionCat, d))
	}
	if f, ok := m["fields"].(map[string]any); ok {
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s, ok := f[k].(string); ok {
				add(fieldLabel(k), s)
			}
		}
	}
	if a, ok := m["amount_fen"].(float64); ok {
		add("金额", yuan(int64(a)))
	}
	return strings.Join(parts, "；")
}

// anyState names a state of whichever process uses it.
func anyState(s string) string {
	for _, cat := range []string{"app", "batch", "dropout", "task"} {
		if l, ok := labels[cat][s]; ok {
			return l
		}
	}
	return s
}

var funcs = template.FuncMap{
	"input":    inputField,
	"textarea": textareaField,
	"choose":   selectField,
	"checkbox": checkboxField,
	"zh":       zh,
	"kind":     kindLabel,
	"process":  processLabel,
	"cst":      cst,
	"term":     termLabel,
	"yuan":     yuan,
	"dueIn":    dueIn,
	"summary":  auditSummary,
	"state":    anyState,
	"join":     strings.Join,
	"add":      func(a, b int) int { return a + b },
	"eq2":      func(a, b, c string) bool { return a == b || a == c },
	"contains": contains,
}

func itoa(n int) string { return strconv.Itoa(n) }

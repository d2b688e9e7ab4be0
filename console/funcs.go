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
	"jiaofu/casework"
	"jiaofu/store"
)

// labels are the Chinese names of the API's fixed values, by category; modules add theirs.
var labels = map[string]map[string]string{
	"task":    {"open": "待办", "done": "已办", "cancelled": "已撤销"},
	"outcome": {casework.OutcomeWithdrawn: "已撤销"},
	"role": {"school_staff": "资助专干", "teacher": "帮扶教师", "school_leader": "校领导", "township_staff": "中心学校专干",
		"aid_center": "资助中心", "education_section": "教育股", "pa_office": "局扶贫办", "inspector": "督导办",
		"supervision": "监察室", "bureau_leader": "局领导", "admin": "系统管理员"},
	"target": {"remind": "到期提醒", "teacher": "责任教师", "school_leader": "校领导", "education_section": "教育股（特教资源中心）",
		"superior": "上级单位", "township_gov": "乡镇政府", "county_hq": "县脱贫攻坚指挥部", "supervision": "监察室", "bureau_leader": "局领导"},
	"escalation": {"open": "未处理", "closed": "已处理"},
	"myaction":   {"completed": "我办结", "resolved": "我受委派办理", "delegated": "我委派", "transferred": "我转办", "added_signers": "我加签"},
	"decision": {"no_action": "不予问责", "reminder_talk": "提醒谈话", "circulated_criticism": "通报批评", "admonishment": "诫勉谈话",
		"referred": "移送处理", "task completed": "待办已办结"},
	"unitkind": {"bureau": "教育局", "section": "局属股室", "township_school": "乡镇中心学校", "school": "学校", "kindergarten": "幼儿园",
		"township_gov": "乡镇政府", "county_hq": "县指挥部"},
	"action": {"task.opened": "生成待办", "task.completed": "办理", "task.claimed": "领取待办", "task.unclaimed": "释放待办",
		"task.transferred": "转办", "task.urged": "催办", "task.withdrawn": "撤销待办",
		"task.delegated": "委派", "task.resolved": "委派回复", "task.delegation_recalled": "收回委派", "task.cc": "抄送",
		"case.cc_read":       "抄送已阅",
		"task.signers_added": "加签", "task.signers_removed": "减签", "task.signer_removed": "加签人已减去",
		"task.step_ended": "本环节已有结果，待办自动结束", "task.step_decided": "会签/或签结果", "task.stand_in": "无人可办，转上级单位办理",
		"escalation.remind": "到期提醒", "escalation.teacher": "提醒责任教师", "escalation.school_leader": "报校领导",
		"escalation.education_section": "报教育股（特教资源中心）", "escalation.superior": "上报上级单位", "escalation.township_gov": "报乡镇政府督办",
		"escalation.county_hq": "报县指挥部督办", "escalation.supervision": "报监察室", "escalation.bureau_leader": "报局领导", "escalation.closed": "监察室作出处理",
		"student.created": "新增学生", "user.created": "新增用户", "user.updated": "修改用户", "org_unit.created": "新增单位",
		"programme.created": "新增资助项目", "programme.updated": "修改资助项目"},
}

// The processes' own labels come from the registry: each case kind's states in the category of
// its name ("app", "dropout"), every outcome in "outcome" and in "<process>_outcome", audit
// actions in "action", task and deadline kinds in "kind", process names in "process".
func init() {
	for _, p := range casework.Processes {
		addLabels("process", map[string]string{p.Name: p.Label})
		for _, c := range p.Cases {
			addLabels(c.Name, pairs(c.States))
		}
		addLabels("outcome", pairs(p.Outcomes))
		addLabels(p.Name+"_outcome", pairs(p.Outcomes))
		addLabels("action", pairs(p.Events))
		for _, k := range p.TaskKinds {
			addLabels("kind", map[string]string{k.Name: k.Label})
		}
		for _, d := range p.DeadlineKinds {
			addLabels("kind", map[string]string{d.Name: d.Label})
		}
	}
}

func pairs(ls []casework.Label) map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Label
	}
	return m
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

func kindLabel(kind string) string { return zh("kind", kind) }

func processLabel(p string) string { return zh("process", p) }

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
	if _, kind, ok := casework.CaseKindOf(e.CaseID); ok {
		stateCat = kind.Name
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
	if ms, ok := m["measures"].([]any); ok && len(ms) > 0 {
		var ls []string
		for _, x := range ms {
			if s, ok := x.(string); ok {
				ls = append(ls, zh("measure", s))
			}
		}
		add("问责措施", strings.Join(ls, "、"))
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
	for _, p := range casework.Processes {
		for _, c := range p.Cases {
			if l, ok := labels[c.Name][s]; ok {
				return l
			}
		}
	}
	return zh("task", s)
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
	"split":    func(s string) []string { return strings.Split(s, ",") },
	"signing":  signingLabel,
}

// signingLabel names how a step's signer signs (a task row's signing): 会签, 或签, 票签（2/3）,
// 依次审批, or 前加签, 后加签, 并加签 for a signer added to a task.
func signingLabel(s string) string {
	if mode, ratio, ok := strings.Cut(s, ":"); ok {
		return zh("signing", mode) + "（" + ratio + " 同意即通过）"
	}
	return zh("signing", s)
}

func itoa(n int) string { return strconv.Itoa(n) }

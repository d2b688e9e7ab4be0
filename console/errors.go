package console

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
)

// The error mapper turns the API's answers ({error: {code, message, field}}) into Chinese: the
// field's label, a sentence for the problem, and the API's English detail in small print when no
// sentence fits.

// fieldLabels names API fields in Chinese; modules add theirs with addLabels("field", …).
var fieldLabels = map[string]string{
	"student_id":       "学生",
	"programme":        "资助项目",
	"term":             "学期",
	"evidence_note":    "困难证明说明",
	"reason":           "原因",
	"contact":          "联系方式",
	"entry_id":         "公示条目",
	"outcome":          "办理结果",
	"comment":          "办理意见",
	"to_user":          "转办对象",
	"last_attended_on": "最后到校日期",
	"method":           "劝返方式",
	"notes":            "记录",
	"visitors":         "参加人员",
	"date":             "日期",
	"note":             "说明",
	"receiving_school": "转入学校",
	"school_unit":      "学校",
	"unit":             "单位",
	"decision":         "处理决定",
	"username":         "用户名",
	"password":         "密码",
	"display_name":     "姓名",
	"roles":            "角色",
	"roles.role":       "角色",
	"roles.unit_code":  "任职单位",
	"code":             "代码",
	"name":             "名称",
	"kind":             "类型",
	"parent_code":      "上级单位",
	"township_code":    "乡镇代码",
	"amount_fen":       "金额",
	"amount":           "金额",
	"stage":            "学段",
	"student_no":       "学籍号",
	"sex":              "性别",
	"birth_date":       "出生日期",
	"id_card_no":       "身份证号",
	"unit_code":        "学校",
	"grade":            "年级",
	"class":            "班级",
	"household_id":     "建档立卡户编号",
	"disability":       "残疾情况",
	"status":           "状态",
	"channel":          "发放方式",
	"body":             "表单",
}

func fieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	// roles[0].role → roles.role
	if plain := indexRe.ReplaceAllString(field, ""); plain != field {
		if l, ok := fieldLabels[plain]; ok {
			return l
		}
	}
	if field == "" {
		return ""
	}
	return field
}

var indexRe = regexp.MustCompile(`\[\d+\]`)

// A rule turns one kind of API message (the part after "field: ") into a Chinese sentence.
type rule struct {
	re *regexp.Regexp
	zh func(field string, m []string) string
}

func r(pattern string, zh func(field string, m []string) string) rule {
	return rule{regexp.MustCompile(pattern), zh}
}

func fixed(s string) func(string, []string) string { return func(string, []string) string { return s } }

var fieldRules = []rule{
	r(`^required: the student is not poverty-registered`, fixed("必填：该学生不是建档立卡户，须写明家庭经济困难的证明材料")),
	r(`^required for a transfer`, fixed("必填：转学须填写转入学校")),
	r(`^required: a case is closed only with a documented reason|^a closure needs a documented reason`, fixed("必填：申请结案须写明有据可查的理由")),
	r(`^required`, fixed("必填")),
	r(`is not a term such as`, fixed("学期格式应为 2026-2027-1（学年-学年-学期，1 为秋季、2 为春季）")),
	r(`the second year must follow the first`, fixed("学期的两个年份应相连，如 2026-2027-1")),
	r(`is not a date such as`, fixed("日期格式应为 2026-09-01")),
	r(`^cannot be in the future|is in the future`, fixed("日期不能晚于今天")),
	r(`is before the student's return`, fixed("日期不能早于学生返校日期")),
	r(`^not an amount in yuan`, fixed("金额格式应为 500.00（元，最多两位小数）")),
	r(`^no student`, fixed("找不到该学生")),
	r(`^no active programme`, fixed("没有该资助项目，或项目已停用")),
	r(`^no unit|^no such unit`, fixed("没有该单位")),
	r(`^no user|^no such user`, fixed("没有该用户")),
	r(`is not on this publicity list`, fixed("该条目不在本公示名单中")),
	r(`^at most (\d+) characters`, func(_ string, m []string) string { return "不能超过 " + m[1] + " 个字" }),
	r(`^at least (\d+) characters`, func(_ string, m []string) string { return "至少 " + m[1] + " 个字符" }),
	r(`^must be one of|is not one of`, fixed("请从列表中选择")),
	r(`^must be open, done or all`, fixed("请选择 待办、已办 或 全部")),
	r(`^letters, digits, - and _ only`, fixed("只能由字母、数字、- 和 _ 组成（1–40 位）")),
	r(`lowercase letters, digits`, fixed("用户名为 2–40 位小写字母、数字、“.”、“_” 或 “-”")),
	r(`^must be a positive whole number of fen`, fixed("金额应大于 0 且不超过 ¥100,000.00")),
	r(`^must be M, F, 男 or 女`, fixed("请选择性别")),
	r(`^must have 18 characters`, fixed("身份证号应为 18 位")),
	r(`^character \d+ must be a digit`, fixed("身份证号前 17 位应为数字")),
	r(`^characters 7–14 must be a real birth date`, fixed("身份证号中的出生日期无效")),
	r(`check character is wrong`, fixed("身份证号校验位不正确，请核对")),
	r(`birth date in the number does not match`, fixed("身份证号中的出生日期与出生日期栏不一致")),
	r(`a G number is G followed by|must be G \+ ID-card number`, fixed("学籍号应为 G + 身份证号，或 L + 临时学籍号")),
	r(`^must be 1–12`, fixed("年级应为 1–12")),
	r(`^at least one role is required`, fixed("至少选择一个角色")),
	r(`^required for every unit but the bureau`, fixed("除教育局外，每个单位都须选择上级单位")),
	r(`^cannot transfer a task to yourself`, fixed("不能转办给自己")),
	r(`does not hold .* over unit`, fixed("该用户不具备办理此待办的角色，不能转办给他")),
	r(`separation of duties bars`, fixed("按照不相容职务分离要求，该用户不能办理本案")),
	r(`^unknown field`, fixed("表单包含未知字段")),
	r(`^must be (a |an |text in quotes|true or false|one JSON object)`, fixed("格式不正确")),
	r(`^contains a NUL byte|^contains a control character`, fixed("含有看不见的控制字符，请删除后重新提交")),
	r(`^contains bytes that are not readable text`, fixed("含有无法识别的字符，请重新输入或粘贴")),
	r(`^at most (\d+) entries`, func(_ string, m []string) string { return "不能超过 " + m[1] + " 项" }),
	r(`^(.+) is not one of .* for a .* task`, fixed("该待办不能选择此办理结果")),
}

// Sentences for refusals that are not about a field (403, 404, 409, 429, 503 …).
var messageRules = []rule{
	r(`already exists: subsidy-|an application for this student, programme and term already exists`, fixed("该学生本学期已申请过此资助项目，不能重复申请。")),
	r(`already has an open dropout case`, fixed("该学生已有未结案的劝返案件，不能重复立案。")),
	r(`no reviewed applications of .* wait for publicity`, fixed("该校本学期没有已通过学校审核、待公示的申请。")),
	r(`another batch for .* is being opened`, fixed("该校本学期的公示名单正在生成，请稍后再试。")),
	r(`^task .* is (done|cancelled), not open|is not open \(already completed or withdrawn\)`, fixed("该待办已办结或已撤销，不能再办理。")),
	r(`is already claimed by you`, fixed("您已领取该待办。")),
	r(`is already claimed by someone else`, fixed("该待办已被他人领取。")),
	r(`was assigned to you by the process; transfer it`, fixed("该待办由流程直接指派给您，不能退回待领，可改为转办。")),
	r(`^separation of duties`, fixed("按照不相容职务分离要求，您参与过本案（申请或审核），不能办理此待办。")),
	r(`may not act on this task: it waits for`, fixed("您无权办理该待办：它等待其他角色或单位办理。")),
	r(`may not claim this task`, fixed("您无权领取该待办。")),
	r(`only the person who claimed task`, fixed("只有领取人才能释放该待办。")),
	r(`may not transfer this task`, fixed("您无权转办该待办。")),
	r(`may not urge a task outside their units`, fixed("只能催办本人管辖范围内的待办。")),
	r(`only school staff of the student's school may apply`, fixed("只有学生所在学校的资助专干可以为其申请资助。")),
	r(`only the school's own staff may publish its list`, fixed("只有本校人员可以发起本校的公示。")),
	r(`only the student's school or township may open a dropout case`, fixed("只有学生所在学校或乡镇可以为其建立劝返案件。")),
	r(`may not log attempts on this case`, fixed("您无权为本案记录劝返：须为责任教师，或本校教师、资助专干、校领导、乡镇中心学校人员。")),
	r(`may not record an outcome on this case`, fixed("您无权办理本案的结果。")),
	r(`may not report absences of this student`, fixed("您无权报告该学生的缺勤。")),
	r(`a closure of case .* waits for the school leader's approval`, fixed("本案的结案申请正等待校领导审批。")),
	r(`has returned and is in consolidation; report an absence instead`, fixed("学生已返校、处于巩固期；如再次缺勤，请报告缺勤。")),
	r(`an absence reopens only a case in consolidation`, fixed("只有处于巩固期的案件才能报告缺勤。")),
	r(`dropout case .* is closed|^case .* is closed`, fixed("本案已结案。")),
	r(`the case is still being opened`, fixed("案件正在建立，请稍后再试。")),
	r(`the case is closed; the task is no longer open`, fixed("案件已结束，该待办已不再办理。")),
	r(`escalation .* is already closed`, fixed("该督办事项已处理。")),
	r(`the publicity period has ended`, fixed("公示期已结束，不再受理异议。")),
	r(`publicity list is still being opened`, fixed("公示名单正在生成，请稍后再试。")),
	r(`publicity list \(it may have ended`, fixed("该公示已结束或不存在。")),
	r(`is already registered|is taken|already exists`, fixed("已存在相同的记录，不能重复创建。")),
	r(`this needs one of the roles`, fixed("您的角色无权使用此功能。")),
	r(`you urged this task at .*; you can urge it again after (\d\d:\d\d)`, func(_ string, m []string) string {
		return "您刚催办过该待办，每人每小时可催办一次，请在 " + m[1] + " 之后再催办。"
	}),
	r(`is moving to a new page of its history`, fixed("系统正在整理本案的办理记录，请几秒钟后重试。")),
	r(`^the text could not be stored`, fixed("内容无法保存：请删除其中不常见或看不见的字符并缩短后重新提交。")),
	r(`too many objections`, fixed("提交过于频繁，请一分钟后再试。")),
	r(`the database is not reachable`, fixed("系统繁忙：数据库暂时无法连接，未做任何更改，请稍后重试。")),
	r(`no worker answered in time|workflow service is unavailable`, fixed("系统繁忙：后台没有及时响应，未做任何更改，请稍后重试。")),
	r(`^CSRF token`, fixed("页面已过期或来源无法确认（CSRF 校验未通过），请返回、刷新页面后重新提交。")),
	r(`^page not found`, fixed("页面不存在。")),
	r(`not found$`, fixed("找不到该记录，或您无权查看。")),
}

// fieldError is an error shown next to one field.
type fieldError struct {
	Label   string
	Message string // Chinese
	Detail  string // the API's English detail when no sentence fits
}

// uiError is an error shown as a banner or an error page.
type uiError struct {
	Status  int
	Title   string
	Message string
	Detail  string
}

// translateField maps a 400's message to a sentence for its field.
func translateField(field, message string) *fieldError {
	detail := strings.TrimSpace(strings.TrimPrefix(message, field+":"))
	fe := &fieldError{Label: fieldLabel(field)}
	for _, ru := range fieldRules {
		if m := ru.re.FindStringSubmatch(detail); m != nil {
			fe.Message = ru.zh(field, m)
			return fe
		}
	}
	fe.Message = "「" + fe.Label + "」填写有误"
	fe.Detail = detail
	return fe
}

var statusTitles = map[int]string{
	400: "填写有误",
	401: "请先登录",
	403: "无权办理",
	404: "找不到",
	409: "与当前状态冲突",
	413: "提交内容过大",
	429: "操作过于频繁",
	503: "系统繁忙",
}

// toUI turns any error into a banner or page; a 400 naming a field of f goes next to that field
// instead (and toUI returns nil).
func toUI(err error, f *form) *uiError {
	var ae *apiError
	if !errors.As(err, &ae) {
		// An error of the API's functions the console calls in-process (Authenticate,
		// ActorFromToken, PublicListOf …) or of the console itself: translated as the API would
		// answer it, so that an unreachable database is a 503 here too.
		e, _ := api.ClientError(err)
		ae = &apiError{Status: e.Status, Code: e.Code, Message: e.Message, Field: e.Field}
	}
	if ae.Status == fiber.StatusBadRequest && ae.Field != "" {
		fe := translateField(ae.Field, ae.Message)
		if f != nil && f.has(ae.Field) {
			f.put(ae.Field, fe)
			return nil
		}
		return &uiError{Status: ae.Status, Title: statusTitles[400], Message: fe.Label + "：" + fe.Message, Detail: fe.Detail}
	}
	ue := &uiError{Status: ae.Status, Title: statusTitles[ae.Status]}
	if ue.Title == "" {
		ue.Title = "出错了"
	}
	for _, ru := range messageRules {
		if m := ru.re.FindStringSubmatch(ae.Message); m != nil {
			ue.Message = ru.zh("", m)
			return ue
		}
	}
	switch ae.Status {
	case 401:
		ue.Message = "登录已过期，请重新登录。"
	case 403:
		ue.Message = "您无权办理此事项。"
	case 404:
		ue.Message = "找不到该记录，或您无权查看。"
	case 409:
		ue.Message = "该事项的状态已变化，不能这样办理。"
	case 429:
		ue.Message = "操作过于频繁，请稍后再试。"
	case 503:
		ue.Message = "系统繁忙，未做任何更改，请稍后重试。"
	default:
		if ae.Status >= 500 {
			ue.Title, ue.Message = "系统错误", "系统出现错误，已记录日志，请稍后重试。"
			return ue
		}
		ue.Message = "请求未能办理。"
	}
	ue.Detail = ae.Message
	return ue
}

// errorf makes a console-side field error (for conversions the console itself does, such as
// yuan to fen), in the API's shape so that it goes through the same mapper.
func errorf(field, format string, args ...any) *apiError {
	return &apiError{Status: fiber.StatusBadRequest, Code: "invalid", Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func asAPI(err error, target **apiError) bool { return errors.As(err, target) }

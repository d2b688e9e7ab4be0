package console

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
)

// The error mapper turns the API's answers ({error: {code, message, field, params}}) into
// Chinese: the field's label, a sentence for the problem chosen by its code and reason (never by
// its English message), and the API's English detail in small print when no sentence fits.

// fieldLabels names API fields in Chinese; modules add theirs with addLabels("field", …).
var fieldLabels = map[string]string{
	"student_id":       "学生",
	"programme":        "资助项目",
	"term":             "学期",
	"evidence_note":    "佐证材料",
	"reason":           "原因",
	"contact":          "联系方式",
	"entry_id":         "公示条目",
	"outcome":          "办理结果",
	"comment":          "办理意见",
	"to_user":          "转办对象",
	"last_attended_on": "最后到校日期",
	"method":           "方式",
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
	"township_code":    "乡镇",
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
	"units":            "受检单位",
	"planned_on":       "计划日期",
	"area":             "问题领域",
	"severity":         "严重程度",
	"description":      "内容",
	"rectify_by":       "整改期限",
	"summary":          "情况说明",
	"user_ids":         "人员",
	"signer_ids":       "加签人员",
	"remove_ids":       "减签人员",
	"position":         "加签方式",
	"to_user_id":       "委派对象",
	"body":             "表单",
}

// addFieldLabels adds a module's field names. A field has one name across the console (its
// errors are worded from this one map), so a module naming a field another module already named
// otherwise stops the console at start rather than win or lose by the order of init.
func addFieldLabels(m map[string]string) {
	for k, v := range m {
		if old, ok := fieldLabels[k]; ok && old != v {
			panic("console: field " + k + " named both " + old + " and " + v)
		}
		fieldLabels[k] = v
	}
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

// Refusals are worded by their code (api/errors.go, workflows/refusal.go), never by their English
// message: refusalText is keyed by "code/reason" (params["reason"] names the rule or state of a
// refusal that has one), then "code/field", then "code". The sentences take the values they need
// from the params.
type params map[string]string

func fixed(s string) func(params) string { return func(params) string { return s } }

var refusalText = map[string]func(params) string{
	"not_candidate":                       fixed("您无权办理该事项：它等待其他人员、角色或单位办理。"),
	"separation_of_duties":                fixed("按照不相容职务分离要求，您参与过本案（申请或审核），不能办理此待办。"),
	"separation_of_duties/to_user":        fixed("按照不相容职务分离要求，该用户不能办理本案"),
	"task_not_open":                       fixed("该待办已办结或已撤销，不能再办理。"),
	"task_not_open/case_closed":           fixed("本案已结案，不能再办理。"),
	"task_not_open/escalation_closed":     fixed("该督办事项已处理。"),
	"outcome_not_allowed":                 fixed("该事项不能选择此办理结果"),
	"wrong_state":                         fixed("该事项当前的状态不允许这样办理。"),
	"wrong_state/continuing":              fixed("系统正在整理本案的办理记录，请几秒钟后重试。"),
	"wrong_state/not_supervision":         fixed("该事项不是报送监察室的，不作问责决定：待办办结或案件有了结果后自动销号。"),
	"wrong_state/opening":                 fixed("正在建立，请稍后再试。"),
	"wrong_state/publicity_ended":         fixed("公示期已结束，不再受理异议。"), // a worker from before publicity_ended, during a deploy
	"wrong_state/assigned":                fixed("该待办由流程直接指派给您，不能退回待领，可改为转办。"),
	"wrong_state/claimed":                 fixed("该待办已被经办人领取，不能再撤回。"),
	"wrong_state/closing":                 fixed("本案的结案申请正等待校领导审批。"),
	"wrong_state/finding_closed":          fixed("该问题已整改销号。"),
	"wrong_state/rectification_in_review": fixed("整改材料已提交，正等待督导部门审核。"),
	"wrong_state/consolidating":           fixed("学生已返校、处于巩固期；如再次缺勤，请报告缺勤。"),
	"wrong_state/not_consolidating":       fixed("只有处于巩固期的案件才能报告缺勤。"),
	"wrong_state/nothing_reviewed":        fixed("该校本学期没有已通过学校审核、待公示的申请。"),
	"duplicate":                           fixed("已存在相同的记录，不能重复创建。"),
	"duplicate/claimed":                   fixed("您已领取该待办。"),
	"duplicate/application":               fixed("该学生本学期已申请过此资助项目，不能重复申请。"),
	"duplicate/student_id":                fixed("该学生已有未结案的劝返案件，不能重复立案。"),
	"not_in_scope":                        fixed("该事项不在您管辖的单位范围内，您无权办理。"),
	"forbidden":                           fixed("您无权办理此事项。"),
	"forbidden/roles":                     fixed("您的角色无权使用此功能。"),
	"wrong_state/delegated": func(p params) string {
		if p["delegate"] != "" {
			return "该待办已委派给 " + p["delegate"] + "，待其办理后回到您这里，由您办结；也可收回委派。"
		}
		return "该待办已委派他人，待其办理后回到您这里，由您办结。"
	},
	"wrong_state/not_delegated":    fixed("该待办未委派，无需回复。"),
	"wrong_state/deciding":         fixed("该待办正由他人办理，请几秒钟后刷新页面查看结果。"),
	"insufficient_funds":           insufficientFunds,
	"insufficient_funds/reversal":  insufficientFunds,
	"duplicate/already_reversed":   fixed("该捐赠已冲销，不能重复冲销。"),
	"duplicate/reference_booked":   fixed("该收据（凭证）号已登记过捐赠，不能重复登记"),
	"wrong_state/not_in_ledger":    fixed("该捐赠尚未入账（待复核确认或复核未确认），无需冲销。"),
	"wrong_state/not_pending":      fixed("该捐赠不在待复核确认状态，可能已由他人办理。"),
	"invalid/reversal_of_reversal": fixed("这是一笔冲销记录，冲销记录不能再冲销；如需更正，请重新登记捐赠"),
	"invalid/whole_number":         fixed("须为整数（金额以分为单位，不能有小数）"),
	"invalid/number_too_large":     fixed("数值过大"),
	"not_candidate/delegate":       fixed("您是该待办的受委派人：请提交办理意见（委派回复），由委派人办结，您不能代为办结、转办或再委派。"),
	"not_in_scope/to_user_id":      fixed("受委派人看不到该单位的案件，不能委派给他。"),
	"duplicate/cc_exists": func(p params) string {
		return "本案已抄送过 " + p["user"] + "，不能重复抄送。"
	},
	// Added signers (加签·减签) and multi-approver steps (会签/或签/票签/依次).
	"wrong_state/signing_before": func(p params) string {
		if p["signers"] != "" {
			return "该待办已前加签给 " + strings.ReplaceAll(p["signers"], ",", "、") + "，待其审批通过后回到您这里再办理。"
		}
		return "该待办已前加签，待加签人审批通过后回到您这里再办理。"
	},
	"wrong_state/signers_added": fixed("审批人已加签，不能再撤回。"),
	"wrong_state/signed":        fixed("已有审批人签署，不能再撤回。"),
	"wrong_state/required_signer": func(p params) string {
		return p["user"] + " 是流程要求的审批人，不能减签；只能减去加签的人员。"
	},
	"duplicate/signed": fixed("您已签署过本环节（会签中每人只签一次）。"),
	"duplicate/signer": func(p params) string {
		if p["user"] != "" {
			return p["user"] + " 已是本环节的审批人，不能重复加签或转办给他。"
		}
		return "该用户已是本环节的审批人。"
	},
	"signer_acted": func(p params) string {
		if p["user"] != "" {
			return p["user"] + " 已经签署，签署意见留档，不能减签。"
		}
		return "加签人已经签署，不能减签。"
	},
	"not_in_scope/user_ids":         fixed("该用户看不到本单位的案件，不能加签给他。"),
	"separation_of_duties/user_ids": fixed("按照不相容职务分离要求，该用户不能参与审批本案。"),
	"invalid/self_sign":             fixed("您已是本待办的办理人，不能加签自己"),
	"invalid/not_signer":            func(p params) string { return p["user"] + " 不是加签人员，无需减签" },
	"invalid/self_delegate":         fixed("不能委派给自己"),
	"invalid/self_cc":               fixed("不能抄送给自己"),
	"invalid/too_many":              fixed("一次最多抄送 20 人"),
	"publicity_ended": func(p params) string {
		if t, err := time.Parse(time.RFC3339, p["ended_at"]); err == nil {
			return "公示期已于 " + cst(t) + " 结束，不再受理异议。"
		}
		return "公示期已结束，不再受理异议。"
	},
	"rate_limited": func(p params) string {
		if p["after"] != "" {
			return "您刚催办过该待办，每人每小时可催办一次，请在 " + p["after"] + " 之后再催办。"
		}
		return "操作过于频繁，请稍后再试。"
	},
	"rate_limited/objections":        fixed("提交过于频繁，请一分钟后再试。"),
	"csrf":                           fixed("页面已过期或来源无法确认（CSRF 校验未通过），请返回、刷新页面后重新提交。"),
	"invalid/required":               fixed("必填"),
	"invalid/required_for_transfer":  fixed("必填：转学须填写转入学校"),
	"invalid/required_for_closure":   fixed("必填：申请结案须写明有据可查的理由"),
	"invalid/required_for_send_home": fixed("本案没有包保责任教师：转送教上门须指定送教教师"),
	"invalid/one_of":                 fixed("请从列表中选择"),
	"invalid/self":                   fixed("不能转办给自己"),
	"invalid/no_role":                fixed("该用户不具备办理此待办的角色，不能转办给他"),
	"invalid/date_format":            fixed("日期格式应为 2026-09-01"),
	"invalid/future":                 fixed("日期不能晚于今天"),
	"invalid/past":                   fixed("日期不能早于今天"),
	"invalid/out_of_scope":           fixed("该单位不在您督查的范围内"),
	"invalid/not_in_round":           fixed("该单位不在本轮督查的受检单位中"),
	"invalid/before_return":          func(p params) string { return "日期不能早于学生返校日期（" + p["returned_on"] + "）" },
	"invalid/not_listed":             fixed("该条目不在本公示名单中"),
	"invalid/max_chars":              func(p params) string { return "不能超过 " + p["max"] + " 个字" },
	"invalid/min_chars":              func(p params) string { return "至少 " + p["min"] + " 个字符" },
	"invalid/max_entries":            func(p params) string { return "不能超过 " + p["max"] + " 项" },
	"invalid/unstorable":             fixed("内容无法保存：请删除其中不常见或看不见的字符并缩短后重新提交。"),
	// The checks of the API's edge (api/validate.go, api/input.go and the handlers' own).
	"invalid/required_without_poverty_registration": fixed("必填：该学生不是建档立卡户，须写明家庭经济困难的证明材料"),
	"invalid/required_for_decision":                 fixed("必填：作出处理决定须写明理由"),
	"invalid/required_below_bureau":                 fixed("除教育局外，每个单位都须选择上级单位"),
	"invalid/term_format":                           fixed("学期格式应为 2026-2027-1（学年-学年-学期，1 为秋季、2 为春季）"),
	"invalid/term_years":                            fixed("学期的两个年份应相连，如 2026-2027-1"),
	"invalid/term_window": func(p params) string {
		if p["this_year"] != "" && p["next_year"] != "" {
			return "只能申请本学年（" + p["this_year"] + "）或下一学年（" + p["next_year"] + "）的学期；其他学期须由系统管理员开放"
		}
		return "只能申请本学年或下一学年的学期；其他学期须由系统管理员开放"
	},
	"invalid/yuan_format":           fixed("金额格式应为 500.00（元，最多两位小数）"),
	"invalid/amount_range":          amountRange,
	"invalid/no_student":            fixed("找不到该学生"),
	"invalid/no_programme":          fixed("没有该资助项目，或项目已停用"),
	"invalid/no_unit":               fixed("没有该单位"),
	"invalid/no_user":               fixed("没有该用户"),
	"invalid/programme_code_format": fixed("只能由字母、数字、- 和 _ 组成（1–40 位）"),
	"invalid/unit_code_format": func(p params) string {
		s := "只能由大写字母 A–Z、数字和 - 组成，以字母或数字开头，最多 32 位"
		if p["example"] != "" {
			s += "（如 " + p["example"] + "）"
		}
		return s
	},
	"invalid/username_format": fixed("用户名为 2–40 位小写字母、数字、“.”、“_” 或 “-”"),
	"invalid/min_entries":     func(p params) string { return "至少选择 " + p["min"] + " 项" },
	"invalid/grade_range":     fixed("年级应为 1–12（幼儿园的小、中、大班为 1–3）"),
	"invalid/id_card_length":  fixed("身份证号应为 18 位"),
	"invalid/id_card_digits": func(p params) string {
		if p["position"] != "" {
			return "身份证号前 17 位应为数字（第 " + p["position"] + " 位不是）"
		}
		return "身份证号前 17 位应为数字"
	},
	"invalid/id_card_birth_date":     fixed("身份证号中的出生日期无效"),
	"invalid/id_card_check":          fixed("身份证号校验位不正确，请核对"),
	"invalid/id_card_birth_mismatch": fixed("身份证号中的出生日期与出生日期栏不一致"),
	"invalid/student_no_g":           fixed("学籍号应为 G + 该学生的身份证号"),
	"invalid/student_no_format":      fixed("学籍号应为 G + 身份证号，或 L + 临时学籍号"),
	"invalid/unknown_field":          fixed("表单包含未知字段"),
	"invalid/json":                   fixed("格式不正确"),
	"invalid/json_type":              fixed("格式不正确"),
	"invalid/control_char":           fixed("含有看不见的控制字符，请删除后重新提交"),
	"invalid/not_utf8":               fixed("含有无法识别的字符，请重新输入或粘贴"),
	// Answers that are not refusals, by their code and reason too.
	"unavailable/database":         fixed("系统繁忙：数据库暂时无法连接，未做任何更改，请稍后重试。"),
	"unavailable/worker":           fixed("系统繁忙：后台没有及时响应，未做任何更改，请稍后重试。"),
	"unavailable/workflow_service": fixed("系统繁忙：后台没有及时响应，未做任何更改，请稍后重试。"),
	"not_found/publicity_list":     fixed("该公示已结束或不存在。"),
	"not_found/page":               fixed("页面不存在。"),
}

// amountRange words amount_fen's range, its upper limit from the params.
func amountRange(p params) string {
	if n, err := strconv.ParseInt(p["max_fen"], 10, 64); err == nil && n > 0 {
		return "金额应大于 0 且不超过 " + yuan(n)
	}
	return "金额应大于 0"
}

// insufficientFunds words the hardship fund's refusal: what is available against the amount.
func insufficientFunds(p params) string {
	avail, err1 := strconv.ParseInt(p["available_fen"], 10, 64)
	amount, err2 := strconv.ParseInt(p["amount_fen"], 10, 64)
	if err1 != nil || err2 != nil {
		return "特困救助基金可用余额不足，不能办理。"
	}
	if p["reason"] == "reversal" {
		return "特困救助基金可用余额为 " + yuan(avail) + "，其余已预留或已发放给学生，不能冲销 " + yuan(amount) + " 的捐赠。"
	}
	return "特困救助基金可用余额为 " + yuan(avail) + "，不足以预留本笔救助 " + yuan(amount) + "：申请暂不能批准，待捐赠入账后可再次审批同意，或不同意。"
}

// refusalSentence words a refusal by its code; ok is false for a code (or an invalid value's rule)
// the table does not know.
func refusalSentence(ae *apiError) (string, bool) {
	keys := []string{ae.Code + "/" + ae.Params["reason"], ae.Code + "/" + ae.Field}
	if ae.Code != "invalid" { // an invalid value without a known rule is worded by invalidRules
		keys = append(keys, ae.Code)
	}
	for _, k := range keys {
		if zh, ok := refusalText[k]; ok {
			return zh(ae.Params), true
		}
	}
	return "", false
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

// translateField words an error about ae.Field for that field by its code and reason; one
// without a known reason is the field's label with the API's English detail in small print.
func translateField(ae *apiError) *fieldError {
	fe := &fieldError{Label: fieldLabel(ae.Field)}
	if zh, ok := refusalSentence(ae); ok {
		fe.Message = strings.TrimSuffix(zh, "。")
		return fe
	}
	fe.Message = "「" + fe.Label + "」填写有误"
	fe.Detail = strings.TrimSpace(strings.TrimPrefix(ae.Message, ae.Field+":"))
	return fe
}

var statusTitles = map[int]string{
	400: "填写有误",
	401: "请先登录",
	403: "无权办理",
	404: "找不到",
	409: "暂时无法办理",
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
		ae = fromAPI(e)
	}
	if ae.Status == fiber.StatusBadRequest && ae.Field != "" {
		fe := translateField(ae)
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
	if zh, ok := refusalSentence(ae); ok {
		ue.Message = zh
		return ue
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
// yuan to fen), in the API's shape and with a reason, so that it is worded as the API's are.
func errorf(field, reason, format string, args ...any) *apiError {
	return &apiError{Status: fiber.StatusBadRequest, Code: "invalid", Field: field, Message: field + ": " + fmt.Sprintf(format, args...),
		Params: map[string]string{"reason": reason}}
}

func asAPI(err error, target **apiError) bool { return errors.As(err, target) }

// fromAPI is an error of the API's functions in the shape the console reads from its routes.
func fromAPI(e *api.Error) *apiError {
	return &apiError{Status: e.Status, Code: e.Code, Message: e.Message, Field: e.Field, Params: e.Params}
}

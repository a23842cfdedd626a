"""What a note states as normal is no finding: rules as data, applied when window triples become
document evidence (etl/notes/reading.py, `merge_triples`).

Why: the annotation guideline (ANNOTATION.md) leaves out normal and general-state phrases
(`精神可`, `大小便正常`, `律齐`); a physical exam names a body part in nearly every clause
(`气管居中`, `口唇无发绀`, `尿道外口无畸形`), and the span model, asked for the sites of a
disease, took them: on the 1,198 shared notes a quarter of the asserted triples were such
`发病部位` (MODELS.md). Two rules:

- a symptom that names a normal state: its name ends with one of NORMAL_ENDINGS (`律齐`,
  `肌张力正常`, `精神可`), unless a word of deficiency comes right before it (`欠佳`, `不清`:
  those are findings);
- a body part whose own clause states it normal or denies its finding (`SITE_NORMAL` in the rest
  of the clause after it, which ends at punctuation or a quote): `头颅无畸形`, `气管居中`,
  `双肺呼吸音清晰`, `心界不大`. A site with a lesion after it (`直肠下段肠壁不规则增厚`,
  `两肺多发结节`) keeps it, and 不 of 不规则 / 不均匀 / 不除外 is no denial.

Measured on the annotations: none of the 4,965 EMR-RE triples is dropped by these rules, and 13
of CMeIE's 8,899 (textbook descriptions list normal states and negative results as a disease's
features: `智能发育正常`, `呼吸平稳`, `尿蛋白阴性`).

For notes only, further down: the exam's words that are no tests or symptoms and nursing steps
that are no operations (`exam_word`), the subjects that name no disease (`names_no_disease`), and
the symptoms a note tells after a treatment, its `治疗后症状` (`symptoms_after_treatment`, a note's
evidence as a whole: etl/notes/reading.py, `read_note`).
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import TYPE_CHECKING

from etl.notes.history import sentence_of

if TYPE_CHECKING:
    from etl.records import Evidence

SITE_PREDICATES = frozenset(("发病部位", "转移部位", "外侵部位"))
SYMPTOM_TYPE = "症状"
SITE_SCOPE = 14  # characters after a site that can hold its clause's statement
_CLAUSE_END = re.compile(r"[，。；;,\n（(”\"：:]")
SITE_NORMAL = re.compile(r"无(?!明显诱因)|未见|未触及|未闻及|未(?!排除|除外)|没有|不大|正常|居中|对称|光滑|良好"
                         r"|清晰|清$|通畅|等大|等圆|灵敏|清音|浊音界|动度|活动尚?可|自如")  # 右膝关节活动可
DEPARTMENT = re.compile(r"[外内]?科")
DIFFERENTIAL_PREDICATE, DIFFERENTIAL_WORD = "鉴别诊断", "鉴别"
# A body part the exam tells a sign of (`咽部充血`, `双扁桃体Ⅰ度肿大`, `双肺呼吸音粗`, `左踝部肿胀`) is
# where the sign is, not the disease's site: 16 of the 44 asserted 发病部位 of the shared notes; none
# of EMR-RE's 147 发病部位 is followed by one (a metastasis's 淋巴结肿大 is, so 转移部位 keeps it).
DISEASE_SITE = "发病部位"
SITE_SIGN = re.compile(r"充血|[IⅠⅡⅢ1-3一二三]+度|肿大|呼吸音|纹理|压痛|触痛|红肿|肿胀")
DRUG_PREDICATE = "药物治疗"
LAB_TAIL = re.compile(r"三[酯脂]")
STAGE = "阶段"
TEMPERATURE = re.compile(r"T\d")  # a T stage is written T3, T3N0M0; a temperature T36.4 runs on in digits
NOT_STAGES = re.compile(r"岁$|^肌力|病|炎")  # an age, a muscle's strength, a disease's name with its grade
# (高血压病3级): none of EMR-RE's 59 stages holds 病 or 炎
MUSCLE = "肌力"
COLOUR = re.compile(r"青紫|鲜红|暗红|淡红|紫红|紫黑|暗紫|苍白|发白")
VERTEBRA_BEFORE = re.compile(r"[LTSC腰胸颈骶]\d{1,2}\s*[-－~至]\s*$")  # L5-[S1]: a vertebral level, not the drug S1
# (替吉奥, an EMR-RE drug 3 times, never after one)
ALLERGY = re.compile(r"[^，。；,;、抗]{0,6}过敏|皮试")  # no EMR-RE drug is followed by either (抗过敏 is a
# purpose; 破伤风抗毒素皮试 tests the drug, gives none)
NORMAL_ENDINGS = re.compile(r"(?<![欠不差未])(?:正常|齐|尚可|可|好|良好|清|清晰|平稳|无异常|未见异常|佳|稳定"
                            r"|等圆|正大|灵敏"
                            r"|阴性|对称|清楚)$")  # 移动性浊音阴性: a sign's negative result; 两侧阴囊对称
                            # (不对称 is a finding)


# Words of a note's exam that name no entity of any kind: the exam itself (查体：...) and the vital
# signs' letters (T 36.5℃, P 80次/分, R 18次/分, BP): read on the shared notes as 辅助检查 /
# 实验室检查 objects. None is an object in EMR-RE; CMeIE has 查体 once.
NO_ENTITY = frozenset(("查体", "入院查体", "专科查体", "T", "P", "R", "BP", "HR", "CP"))


# The physical exam's manoeuvres, signs and vital signs, which a note's exam names in every clause
# and the models took as tests (`拾物试验`, `跟膝腱反射`, `叩鼓音`, `肠鸣音`, `心影`: 95 of the 566
# asserted test objects of the shared notes). No EMR-RE triple has one as a test; CMeIE's textbook
# sentences do (`体格检查`, `听诊` as 辅助检查: 13 triples), so the rule is for notes only
# (`exam_word`, called by etl/notes/reading.py for a note's passages).
TEST_PREDICATES = frozenset(("实验室检查", "辅助检查", "影像学检查", "组织学检查", "内窥镜检查"))
EXAM_WORDS = re.compile(
    r"反射$|(?:直腿抬高|抬腿|拾物|4字|四字|旋转|牵拉|叩顶|扣顶|叩颈|曲颈|屈颈|挤压|Valsalva|浮髌|抽屉|研磨|托马斯|Thomas"
    r"|Lasegue|霍夫曼|Hoffmann|巴氏|巴宾斯基|克氏|布氏|Murphy|墨菲)(?:试验|征)$"
    r"|^(?:叩|听|触)(?:诊|音|鼓音|心界|击痛|痛)$|叩鼓音$|叩击痛$|浊音界?$|清音$|语颤$|肠鸣音$|肌力$|肌张力$|心音$|呼吸音$|心率$|脉搏$"
    r"|^血压$|心影$|压痛$|反跳痛$|触痛$|^(?:体格|神经系统|专科|全身)?检查$|^查体"
    r"|^(?:T|P|R|BP|HR|CP)\d"  # a vital sign's letter and its value's first digits (R20次/分 -> R2)
    r"|心律$"  # an ECG's result (起搏心律, 窦性心律), not a test
    r"|次/分|mmHg")  # a vital sign's value and unit (R：[20次/分BP]:135/70mmHg); no EMR-RE object holds one
# ... and a note's words about the illness's course or the exam's descriptions, taken as symptoms
# (`起病急，病程短`, a mass's `表面光滑`, `双瞳孔正圆`, `触觉语颤`): no EMR-RE symptom is one, CMeIE's
# textbook has `起病急` and `表面光滑` as 临床表现 (5 triples).
CLINICAL_FEATURE, AFTER_TREATMENT_PREDICATE = "临床表现", "治疗后症状"
# A change word alone (`增多` of a film's `两肺纹理增粗、增多`) names no symptom either: none of the
# EMR-RE symptoms is one.
SYMPTOM_PREDICATES = frozenset((CLINICAL_FEATURE, AFTER_TREATMENT_PREDICATE))
NOT_SYMPTOMS = re.compile(r"^(?:起病|病程)|光滑$|正圆$|语颤$"
                          r"|^(?:增多|增粗|增大|增厚|肿大|减低|减少|降低|升高|加重|减轻|好转)$"
                          r"|^(?:边缘|边界)|^测|为$"  # a lesion's description (边缘模糊), a measuring phrase (测血压为)
                          r"|^(?:白色|黄色|黄白色|灰白色)?(?:粘稠|黏稠|稀薄)$"  # a sputum's look (痰量少，白色粘稠)
                          r"|^(?:排气|排便|大便|小便|进食|饮食|睡眠)$"  # a function named alone (停止排气、[排便],
                          # 偶有[排气])
                          r"|纹理|^[质指][软硬韧中]$"  # a film's or a mass's description (两肺纹理增粗, 质软, 指韧)
                          r"|最高达?$|居中$|^(?:双肺|两肺)?呼吸音$|^对光反射$|为重$|不明显$"  # a value's lead
                          # (体温最高达), a normal sign (伸舌居中), an exam's word, where a pain is worst
                          # (左足大踇趾为重), a denial
                          r"|^表情痛苦$")  # the exam's general appearance (神志清楚、表情痛苦): no EMR-RE symptom
# Nursing steps and supportive care are no operations (`术后给予留置尿管`, `补液`, `对症治疗`): none
# is an EMR-RE or CMeIE 手术治疗 object.
OPERATION_PREDICATE = "手术治疗"
OPERATION_END = "术"
NOT_OPERATIONS = re.compile(r"^(?:留置|置入?)?(?:导?尿管|胃管)$|^(?:导尿|胃肠减压|换药|吸氧|吸痰|补液|对症治疗|对症处理"
                            r"|禁食水?|禁饮食|抗炎|抗感染|手术(?:治疗)?)$")  # ... nor a drug's aim, nor an operation
# of no name (`1年前患阑尾炎行手术治疗`: the guideline's 手术治疗 is a named operation, and no EMR-RE one
# is bare; CMeIE's textbook files `可手术治疗` 4 times, 3 in texts without a topic, read as notes)
# ... and a nursing order is no supportive treatment (`二级护理`, `外科护理常规`), nor an operation
# named by the word alone (`行手术治疗`: a 手术治疗 of no name): no EMR-RE 辅助治疗 is one
AUXILIARY_PREDICATE = "辅助治疗"
ROUTES = ("口服", "静点", "静滴", "静推", "肌注")  # how a drug is given (etl/notes/names.py cuts them too)
NOT_AUXILIARY = re.compile(r"护理(?:常规)?$|^手术$|术$|^(?:%s)|^雾化(?:吸入)?(?:治疗)?$"
                           % "|".join(ROUTES))  # ... nor an operation (右膝关节置换术): none of
# EMR-RE's 148 objects ending in 术 is 辅助治疗 (手术治疗, or 组织学检查 for 活检术); nor a route and a drug
# whose purpose is not told (`口服蜜炼`, `静点软组织修复药物`: no EMR-RE object starts with a route; one that
# ends with a purpose is cut to it first, etl/notes/names.py), nor a drug's route alone (`布地奈德雾化吸入`: no EMR-RE
# 辅助治疗 is 雾化)


# A histological test names the tissue's examination (`活检`, `免疫组化`, `穿刺`, `病理检查`: every
# one of EMR-RE's 74 `组织学检查` objects has one of these words); the models also gave the predicate
# a check-up, a scan, a rectal exam (`体检`, `CT检查`, `肛门指诊`, `直肠镜检`): 3 of the 8 dev objects,
# all 5 of the shared notes'.
HISTOLOGY_PREDICATE = "组织学检查"
HISTOLOGY = re.compile(r"活检|免疫组化|穿刺|病理|病检|诊刮|细胞|IHC|FISH|杂交|酶标|HER-?2|切片|冰冻|涂片|组织", re.I)
# An imaging film is no drug (`双膝正侧位片`, `右膝DR片`), though drugs end in 片 too (`非那雄胺片`).
FILM = re.compile(r"(?:位|光|DR|CR|线|[部胸腹盆颅]平)片$", re.I)  # not 宫炎平片


# A test's kind follows its name: the span model, asked each test predicate's question over one
# window, gave `腹平片`, `彩超检查` and `头颅CT检查` as 辅助检查 and `DR片` as 实验室检查 (6 readings).
# In EMR-RE, 385 of the 388 tests named as imaging are 影像学检查 (the other 3: `超声肠镜`, an
# endoscopy, and a lab test's `OCTT`), all 60 ECGs 辅助检查, every object ending in 镜 an endoscopy.
# Rules as data, the first that matches wins (notes only: `test_kind`); a 组织学检查 that examines no
# tissue is left out instead (`exam_word`: the models' histology answers of `CT检查` match no gold).
TEST_KINDS = (
    (re.compile(r"镜$"), "内窥镜检查"),
    (re.compile(r"心电图|脑电图|肺功能"), "辅助检查"),
    (re.compile(r"(?<!T)CT(?!T)|彩超|B超|超声|MRI|核磁|片$|造影|X线|PET|钡餐|透视", re.I),  # not TCT, OCTT
     "影像学检查"),
    # a lab test's name (`PSA检测` answered as 辅助检查): all 226 such EMR-RE tests are 实验室检查
    (re.compile(r"PSA|CEA|AFP|CA\d|血常规|尿常规|便常规|肝功|肾功|血糖|血脂|电解质|C-?反应蛋白|CRP|凝血|血沉|肿瘤标志物",
                re.I), "实验室检查"),
)


def test_kind(predicate: str, obj: str) -> str:
    """The predicate of a test object by its name (TEST_KINDS), else `predicate` as it is."""
    if predicate not in TEST_PREDICATES or predicate == HISTOLOGY_PREDICATE:
        return predicate
    for pattern, kind in TEST_KINDS:
        if pattern.search(obj):
            return kind
    return predicate


def exam_word(predicate: str, obj: str) -> bool:
    """A test predicate's object that is a manoeuvre, sign or vital sign of the physical exam (or,
    for a histological test, no tissue's examination), a symptom predicate's that tells the course,
    an exam's description or a change word, a nursing step as an operation or a nursing order as a
    supportive treatment, or a film or an operation as a drug (notes only)."""
    obj = unicodedata.normalize("NFKC", obj).strip()  # a full-width vital sign (ＢＰ１５０/１００) too
    if predicate in SYMPTOM_PREDICATES:
        return bool(NOT_SYMPTOMS.search(obj))
    if predicate == OPERATION_PREDICATE:
        return bool(NOT_OPERATIONS.search(obj))
    if predicate == AUXILIARY_PREDICATE:
        return bool(NOT_AUXILIARY.search(obj))
    if predicate == DRUG_PREDICATE:  # a film, or an operation (左肘关节松懈术): no EMR-RE or CMeIE drug ends with 术
        return bool(FILM.search(obj)) or obj.endswith(OPERATION_END)
    if predicate == HISTOLOGY_PREDICATE and not HISTOLOGY.search(obj):
        return True
    return predicate in TEST_PREDICATES and bool(EXAM_WORDS.search(obj))


def listed_not_differential(text: str, predicate: str, object_end: int) -> bool:
    """A note's 鉴别诊断 whose sentence does not say 鉴别: two diagnoses listed side by side
    (`以1、前列腺增生症合并尿潴留2、高血压收入`), no differential (2 of EMR-RE's 3 say it; CMeIE's
    textbook differentials are told otherwise, so notes only)."""
    if predicate != DIFFERENTIAL_PREDICATE:
        return False
    begin = text.rfind("。", 0, object_end) + 1
    return DIFFERENTIAL_WORD not in text[begin:object_end + SITE_SCOPE]


def states_normal(text: str, predicate: str, obj: str, object_end: int, object_type: str) -> bool:
    """The object (`obj`, ending at `object_end` in `text`) is a normal state, not a finding, or
    a word of the exam that names no entity (NO_ENTITY)."""
    if unicodedata.normalize("NFKC", obj).strip().upper() in NO_ENTITY:
        return True
    if object_type == SYMPTOM_TYPE and NORMAL_ENDINGS.search(obj):
        return True
    if predicate == STAGE and TEMPERATURE.fullmatch(obj) and re.match(r"[\d.]", text[object_end:object_end + 1]):
        return True  # 查体；[T3]6.4 C: a temperature's first digits, no T stage
    if predicate == STAGE and (NOT_STAGES.search(obj) or text.endswith(MUSCLE, 0, object_end - len(obj))):
        return True  # 老年女性62岁, 肌力[Ⅳ级]: an age, a muscle's strength (no EMR-RE stage is one)
    if object_type == SYMPTOM_TYPE and COLOUR.fullmatch(obj) and text[max(0, object_end - len(obj) - 1):
                                                                      object_end - len(obj)] == "色":
        return True  # 痔核…色[青紫]: a lesion's colour, a descriptor (ANNOTATION.md: 鲜红色), not the bruise 局部青紫
    if predicate == DRUG_PREDICATE and (LAB_TAIL.match(text, object_end) or ALLERGY.match(text, object_end)
                                        or VERTEBRA_BEFORE.search(text, 0, object_end - len(obj))):
        return True  # 甘油[三酯]: the start of a lab test's name; 青、链霉素类药物过敏: an allergy; L5-[S1]: a level
    if predicate in SITE_PREDICATES:
        if DEPARTMENT.match(text, object_end):
            return True  # 胃肠[外科]: a department's name, no site
        if predicate == DISEASE_SITE and SITE_SIGN.match(text, object_end):
            return True  # 咽部[充血], 双扁桃体[Ⅰ度肿大]: the exam's sign, no site of the disease
        rest = text[object_end:object_end + SITE_SCOPE]
        cut = _CLAUSE_END.search(rest)
        return bool(SITE_NORMAL.search(rest[:cut.start()] if cut else rest))
    return False


# A symptom the note ties to a treatment is the treated disease's `治疗后症状` (ANNOTATION.md:
# `化疗后出现恶心`, `术后出现发热`): the models answer most of them as `临床表现`, their textbook
# sentences telling a treatment's effects apart from a disease's features by words the notes use
# otherwise. Told by (a) its clause before it: after a chemotherapy, radiotherapy, operation or
# drug (`化疗后出现轻度`, `服药后`), in or after a course (`化疗过程中出现`), or an adverse event
# named before it (`毒副反应：`), unless the clause says the treatment relieved it (`治疗后好转`)
# or tells a follow-up's findings (`术后复查时，彩超：左肾中度积水`: a complication's sign),
# tells years or months since (`直肠癌术后三年，腹痛两月`) or goes on in a numbered list (a diagnosis
# list: `2.直肠癌术后3.胃癌4.腹水`); or
# (b) a toxicity grade next to it (`1度腹泻`, `骨髓抑制II度`) in a note that tells a chemo- or
# radiotherapy in the TREATMENT_SCOPE characters before it; or (c) `等不良反应` after it.
# On the gold annotations: 44 of EMR-RE train's 63 `治疗后症状` and 4 of its 1,470 `临床表现`
# are so told (dev: 19 of 21, and 1 of 351).
AFTER_TREATMENT = re.compile(
    r"(?:化疗|放疗|放化疗|术|服药|用药)[^，,。；;]{0,4}后(?![^。；;]*(?:好转|复查))(?:(?!\d[.、．])[^。；;年月]){0,12}$"
    r"|(?:化疗|放疗)[^。；;]{0,20}(?:出现|反应)[^。；;]{0,10}$"
    r"|(?:不良反应|毒副反应|副反应)[^。；;]{0,6}$")
ADVERSE_AFTER = re.compile(r"^[^。；;，,]{0,6}(?:不良反应|毒副反应|副反应)")
GRADE = "[IⅠⅡⅢⅣV1-4一二三四]"
GRADE_AFTER = re.compile(r"^\s*%s+[°度级]" % GRADE)
GRADE_BEFORE = re.compile(r"%s[°度级]$" % GRADE)
TREATMENT = re.compile(r"化疗|放疗")
TREATMENT_SCOPE = 300
PLANNED = re.compile(r"(?:拟|为行|准备|计划)[^。；;，,]{0,8}(?:化疗|放疗|术)")  # 为行第3周期化疗入院: not given yet
TOLD_SENTENCE_END = re.compile(r"[。；;]")  # its clause runs on over commas (化疗后出现轻度恶心、呕吐，伴脱发)


def told_after_treatment(text: str, start: int, end: int) -> bool:
    """The symptom text[start:end] is told as a treatment's effect (a note's `治疗后症状`)."""
    begin, _ = sentence_of(text, start, end, TOLD_SENTENCE_END)
    clause = text[begin:start]
    if (AFTER_TREATMENT.search(clause) and not PLANNED.search(clause)) or ADVERSE_AFTER.search(text[end:end + 14]):
        return True
    graded = GRADE_AFTER.search(text[end:end + 5]) or GRADE_BEFORE.search(text[max(0, start - 3):start])
    return bool(graded and TREATMENT.search(text[max(0, start - TREATMENT_SCOPE):start]))


# A note's chemotherapy is `化疗` or its regimen (ANNOTATION.md): a bare 化疗 of a disease whose
# regimen the note names (`给予XELOX方案化疗`) is the regimen's word, not a second object. On EMR-RE,
# of the models' bare 化疗 beside a named regimen, 12 of 15 (dev) and 33 of 52 (train) are not
# annotated; alone, 29 of 34 are.
CHEMO_PREDICATE = CHEMO = "化疗"


def regimens_over_bare_chemo(evidence: list[Evidence]) -> list[Evidence]:
    """A note's evidence without the bare `化疗` of a disease whose regimen it names."""
    with_regimen = {ev.subject for ev in evidence if ev.predicate == CHEMO_PREDICATE and ev.object != CHEMO}
    return [ev for ev in evidence
            if not (ev.predicate == CHEMO_PREDICATE and ev.object == CHEMO and ev.subject in with_regimen)]


def symptoms_after_treatment(text: str, evidence: list[Evidence]) -> list[Evidence]:
    """A note's evidence with its `临床表现` told after a treatment made `治疗后症状`."""
    return [dataclasses.replace(ev, predicate=AFTER_TREATMENT_PREDICATE)
            if ev.predicate == CLINICAL_FEATURE and ev.object_start is not None
            and told_after_treatment(text, ev.object_start, ev.object_end) else ev
            for ev in evidence]


# Words the models took as a note's diseases that name none (on the shared notes: `瘢痕` 16 asserted
# triples, the exam's scar; `伤口`; `慢性` of `慢性咳嗽`; a grade `II级`; `破伤风` of `破伤风抗毒素皮试`,
# a drug's test): no EMR-RE subject is one. Notes only (etl/notes/reading.py, `merge_triples`).
NOT_DISEASES = re.compile(r"^(?:瘢痕|伤口|切口|创面|[\u4e00-\u9fff]{1,2}性|[IⅠⅡⅢⅣV]+[级度期]|[A-Za-z])$"
                          r"|可见")  # an exam's description taken whole (左肘部可见2.0cm皮肤挫伤)
A_DRUG_AFTER = re.compile(r"抗毒素|类毒素|疫苗|免疫球蛋白")
LETTERS = re.compile(r"[A-Za-z\-]{1,6}")  # a lab value's label (精液常规：J-[HD]50%): letters with a number after
VALUE_AFTER = re.compile(r"\s*\d")  # them (EMR-RE's letter subjects, TIA and CRP, are followed by none)
GIVEN_BEFORE = re.compile(r"(?:肌注|静点|静滴|口服|注射)$")  # 肌注[破伤风]: a drug given, no disease (none in EMR-RE)
# a treatment's aim is no diagnosis (`减轻神经根周围[水肿]药物`, `抗生素防[感染]`): a bare 感染 or 水肿, or a
# drug class's aim, after the aim's verb. No EMR-RE subject is after one (纠正[肾性贫血] is: 纠正 treats a named
# disease); CMeIE's textbook names the disease prevented (`预防[子痫]发作`, `预防[肺炎]`: 58 of its subjects)
AIM_BEFORE = re.compile(r"(?:减轻|防止|预防|防)[^，。；、,;\s后]{0,6}$")  # not 减轻后建议患者[鼻骨骨折]复位
AIM = re.compile(r"感染|水肿")
A_CLASS_AFTER = re.compile(r"药物")


def names_no_disease(text: str, start: int, end: int) -> bool:
    """The subject text[start:end] names no disease (NOT_DISEASES), only the start of a drug's
    name (`破伤风[抗毒素]`), a drug given (`肌注破伤风`), a treatment's aim (`防感染`) or a lab value's
    label (`HD50%`)."""
    return bool(NOT_DISEASES.search(text[start:end].strip()) or A_DRUG_AFTER.match(text, end)
                or (LETTERS.fullmatch(text[start:end]) is not None and VALUE_AFTER.match(text, end) is not None)
                or GIVEN_BEFORE.search(text, max(0, start - 2), start)
                or (AIM_BEFORE.search(text, max(0, start - 8), start) is not None
                    and (AIM.fullmatch(text[start:end]) is not None or A_CLASS_AFTER.match(text, end) is not None)))

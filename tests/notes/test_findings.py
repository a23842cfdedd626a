"""Normal states are no findings (etl/notes/findings.py), sentence by sentence."""
import pytest

from etl.notes.findings import exam_word, states_normal, symptoms_after_treatment, told_after_treatment


def site(text, name, predicate="发病部位"):
    end = text.index(name) + len(name)
    return states_normal(text, predicate, name, end, "部位")


def symptom(name):
    return states_normal(name, "临床表现", name, len(name), "症状")


@pytest.mark.parametrize("text, name", [
    ("颈软，气管居中，甲状腺无肿大。", "气管"),
    ("口唇无发绀，咽部充血。", "口唇"),
    ("阴茎为成人型，尿道外口无畸形，无红肿。", "尿道外口"),
    ("各瓣膜听诊区未闻及杂音。", "各瓣膜听诊区"),
    ("叩心界不大，心率74次/分。", "心界"),
    ("两侧阴囊对称，无触痛。", "两侧阴囊"),
    ("双肺呼吸音清晰，未闻及啰音。", "双肺"),
    ("足趾感觉运动正常。", "足趾"),
    ("双侧瞳孔等大正圆，对光反射灵敏。", "双侧瞳孔"),
    ("双肺叩清音，呼吸音粗。", "双肺"),  # percussion landmarks of the exam
    ("双肺扣音清，肺肝相对浊音界位于右锁骨中线第五肋间。", "肺肝"),
    ("两侧呼吸动度一致。", "两侧"),
    ("右膝部可见挫伤，右膝关节活动可。", "右膝关节"), ("双上肢活动自如。", "双上肢"),
    ("查体：咽部充血，咽峡部无疱疹。", "咽部"), ("双扁桃体Ⅰ度肿大。", "双扁桃体"),  # a sign's
    ("双肺呼吸音粗。", "双肺"),
])
def test_a_site_its_clause_states_normal_is_no_site_of_disease(text, name):
    assert site(text, name)


@pytest.mark.parametrize("text, name", [
    ("CT示直肠下段肠壁不规则增厚，符合直肠癌。", "直肠下段"),  # 不 of 不规则 denies nothing
    ("网膜不均匀增厚及肠系膜多发结节。", "网膜"),
    ("两肺多发结节结节状小空洞影未排除转移。", "两肺"),  # 未排除 hedges, the lesion is there
    ("右上肢可见多处皮肤抓伤痕，周围轻度肿胀。", "右上肢"),
    ("右肺下叶及左肺中上叶散在感染”（未见报告）", "左肺中上叶"),  # the quote ends its clause
    ("患者因右颞部疼痛伴头晕入院。", "右颞部"),
])
def test_a_site_with_a_lesion_after_it_stays(text, name):
    assert not site(text, name)


def test_only_site_predicates_are_judged_by_their_clause():
    assert not states_normal("气管居中。", "临床表现", "气管", 2, "症状")


@pytest.mark.parametrize("name, normal", [
    ("律齐", True), ("肌张力正常", True), ("精神可", True), ("饮食睡眠尚可", True), ("呼吸平稳", True),
    ("食欲欠佳", False), ("意识不清", False), ("口齿不清", False), ("全身酸软", False), ("腹痛", False),
    ("大便次数稍增多", False), ("正大等圆", True), ("瞳孔正大", True), ("对光反射灵敏", True),
    ("对光反射迟钝", False), ("两侧阴囊对称", True), ("胸廓不对称", False), ("神志清楚", True), ("意识不清楚", False),
])
def test_a_symptom_that_names_a_normal_state(name, normal):
    assert symptom(name) is normal


@pytest.mark.parametrize("name, predicate, kind", [
    ("查体", "辅助检查", "检查"), ("R", "实验室检查", "检查"), ("BP", "实验室检查", "检查"),
    ("入院查体", "辅助检查", "检查"),
])
def test_an_exam_word_that_names_no_entity_is_no_object(name, predicate, kind):
    assert states_normal(name, predicate, name, len(name), kind)


@pytest.mark.parametrize("text, drug, allergy", [
    ("既往有青、链霉素类药物过敏史。", "链霉素", True),
    ("否认青霉素过敏史。", "青霉素", True),
    ("予氯雷他定片抗过敏。", "氯雷他定片", False),  # a purpose, no allergy
    ("做破伤风抗毒素皮试为阳性。", "破伤风抗毒素", True),  # a skin test gives no drug
])
def test_a_drug_the_patient_is_allergic_to_is_no_treatment(text, drug, allergy):
    end = text.index(drug) + len(drug)
    assert states_normal(text, "药物治疗", drug, end, "药物") is allergy


@pytest.mark.parametrize("text, obj, listed", [
    ("以1、前列腺增生症合并尿潴留2、高血压收入。", "高血压", True),  # listed side by side
    ("需与肺结核相鉴别。", "肺结核", False),
])
def test_a_differential_needs_the_note_to_say_so(text, obj, listed):
    from etl.notes.findings import listed_not_differential

    end = text.index(obj) + len(obj)
    assert listed_not_differential(text, "鉴别诊断", end) is listed
    assert not listed_not_differential(text, "临床表现", end)


def test_a_test_is_still_an_object():
    assert not states_normal("血常规", "实验室检查", "血常规", 3, "检查")


@pytest.mark.parametrize("name, predicate", [
    ("拾物试验", "实验室检查"), ("双侧直腿抬高试验", "辅助检查"), ("双侧肱二三头肌及跟膝腱反射", "实验室检查"),
    ("对光反射", "辅助检查"), ("叩鼓音", "辅助检查"), ("叩心界", "辅助检查"), ("听诊", "辅助检查"),
    ("肠鸣音", "实验室检查"),
    ("双侧肢体肌力", "辅助检查"), ("心影", "影像学检查"), ("血压", "辅助检查"), ("双侧Valsalva试验", "实验室检查"),
    ("体格检查", "辅助检查"), ("神经系统检查", "辅助检查"), ("查体:T:37.2CP:92次/分", "辅助检查"),
    ("R2", "实验室检查"), ("T36", "辅助检查"), ("BP120", "辅助检查"), ("叩清音", "辅助检查"),
    ("ＢＰ１５０/１００", "影像学检查"),  # full-width
    ("20次/分BP", "辅助检查"),  # a vital sign's value
    ("起病急", "临床表现"), ("病程短", "临床表现"), ("表面光滑", "临床表现"), ("正圆", "临床表现"),
    ("触觉语颤", "临床表现"),
    ("增多", "临床表现"), ("增粗", "临床表现"), ("加重", "治疗后症状"), ("肿大", "临床表现"),  # a change word alone
    ("留置尿管", "手术治疗"), ("胃肠减压", "手术治疗"), ("吸氧", "手术治疗"),  # nursing steps
    ("体检", "组织学检查"), ("肛门指诊", "组织学检查"), ("CT检查", "组织学检查"),  # no tissue examined
    ("双膝正侧位片", "药物治疗"), ("右膝DR片", "药物治疗"), ("腹部平片", "药物治疗"),  # a film, no drug
    ("二级护理", "辅助治疗"), ("外科护理常规", "辅助治疗"), ("手术", "辅助治疗"),  # a nursing order, no name
    ("禁食水", "手术治疗"),
    ("白色粘稠", "临床表现"), ("黏稠", "临床表现"),  # a sputum's look
    ("排便", "临床表现"), ("排气", "临床表现"),  # a function alone
    ("两肺纹理增粗", "临床表现"), ("质软", "临床表现"),  # a film's, a mass's description
])
def test_the_exams_manoeuvres_and_signs_are_no_tests(name, predicate):
    assert exam_word(predicate, name)


@pytest.mark.parametrize("name, predicate", [
    ("凝血试验", "实验室检查"), ("C13呼气试验", "实验室检查"), ("隐血试验", "实验室检查"), ("动态血压", "辅助检查"),
    ("心电图", "辅助检查"), ("头颅CT", "影像学检查"), ("血常规", "实验室检查"), ("PCT", "实验室检查"),
    ("TP", "实验室检查"),
    ("压痛", "临床表现"), ("脐上腹部压痛", "临床表现"),  # a sign is a finding, only not a test
    ("咳嗽", "临床表现"), ("发热", "治疗后症状"), ("心影增大", "临床表现"), ("排便困难", "临床表现"),
    ("停止排便", "临床表现"),
    ("质硬结节", "临床表现"),
    ("白细胞增多", "临床表现"), ("喘息加重", "临床表现"), ("尿道肉阜切除术", "手术治疗"), ("留置尿管", "辅助治疗"),
    ("禁食水", "辅助治疗"), ("活检", "组织学检查"), ("免疫组化", "组织学检查"),
    ("经直肠前列腺穿刺活检术", "组织学检查"), ("IHC", "组织学检查"),
    ("非那雄胺片", "药物治疗"), ("阿司匹林肠溶片", "药物治疗"), ("宫炎平片", "药物治疗"),
])
def test_tests_and_findings_stay(name, predicate):
    assert not exam_word(predicate, name)


# ---------------------------------------------------------------- told_after_treatment
@pytest.mark.parametrize("text, name, told", [
    ("行TP方案化疗2程，化疗后出现轻度恶心、呕吐，伴脱发。", "恶心", True),
    ("患者诉术后小便疼痛，大便次数多。", "小便疼痛", True),
    ("口服伊马替尼，服药后呕吐明显。", "呕吐", True),
    ("第5周期化疗第二日出现急性腹泻。", "急性腹泻", True),
    ("行XELOX方案化疗6程。下次化疗后出现1度恶心，1度手足综合征、1度腹泻。", "腹泻", True),  # graded, after chemo
    ("予以FOLFIRI化疗3周期，消化道反应II度。", "消化道反应", True),
    ("第5周期化疗因头晕、食欲差等不良反应希罗达停服4日。", "头晕", True),  # 等不良反应 after it
    ("予抑酸、护胃等治疗后好转，之后未再发腹痛。", "腹痛", False),  # the treatment relieved it
    ("1周前无明显诱因出现腹痛，伴恶心。", "恶心", False),
    ("心电图示II度房室传导阻滞，伴头晕。", "头晕", False),
    ("患者2度烧伤，伴疼痛。", "疼痛", False),
    ("心电图：I度房室传导阻滞，头晕。", "房室传导阻滞", False),  # a grade without a chemo- or radiotherapy
    ("为行第3周期化疗入院，入院前1天出现咳嗽。", "咳嗽", False),  # a planned chemotherapy
    ("拟行化疗，昨日出现发热。", "发热", False),
    ("主因直肠癌术后三年，腹痛两月入院。", "腹痛", False),  # years after
    ("诊断为：1.肠梗阻2.直肠癌麦氏术后3.胃癌4.腹水。", "腹水", False),  # a numbered diagnosis list
    ("行左侧输尿管再植术后复查时，行彩超检查回报：左肾中度积水。", "左肾中度积水", False),  # a follow-up's finding
])
def test_a_symptom_told_after_a_treatment(text, name, told):
    start = text.index(name)
    assert told_after_treatment(text, start, start + len(name)) is told


def test_symptoms_after_treatment_relabels_clinical_features_only():
    from etl.records import Evidence

    text = "胃癌术后。化疗后出现恶心。入院前腹痛。"

    def ev(obj, predicate="临床表现"):
        start = text.index(obj)
        return Evidence(doc_id="d", subject="胃癌", subject_type="疾病", predicate=predicate, object=obj,
                        object_type="症状", score=0.9, subject_start=0, subject_end=2,
                        object_start=start, object_end=start + len(obj))

    out = symptoms_after_treatment(text, [ev("恶心"), ev("腹痛"), ev("恶心", "药物治疗")])
    assert [e.predicate for e in out] == ["治疗后症状", "临床表现", "药物治疗"]


def test_a_bare_chemotherapy_beside_its_named_regimen_is_left_out():
    from etl.notes.findings import regimens_over_bare_chemo
    from etl.records import Evidence

    def ev(subject, obj, predicate="化疗"):
        return Evidence(doc_id="d", subject=subject, subject_type="疾病", predicate=predicate, object=obj,
                        object_type="其他治疗", score=0.9)

    evidence = [ev("胃癌", "化疗"), ev("胃癌", "XELOX方案"), ev("肺癌", "化疗"), ev("胃癌", "化疗", "治疗后症状")]
    assert [(e.subject, e.object, e.predicate) for e in regimens_over_bare_chemo(evidence)] == [
        ("胃癌", "XELOX方案", "化疗"), ("肺癌", "化疗", "化疗"), ("胃癌", "化疗", "治疗后症状")]


@pytest.mark.parametrize("text, name, none", [
    ("查体：腹部可见一长约10cm瘢痕，愈合良好。", "瘢痕", True),
    ("予破伤风抗毒素皮试阴性。", "破伤风", True),  # the start of a drug's name
    ("应用抗生素预防感染，肌注破伤风。", "破伤风", True),  # a drug given
    ("反复咳嗽、咳痰，慢性病程。", "慢性", True),
    ("高血压病II级。", "II级", True),
    ("瘢痕子宫，孕39周。", "瘢痕子宫", False),
    ("诊断为破伤风。", "破伤风", False),
    ("诊断为慢性胃炎。", "慢性胃炎", False),
    ("左肘部可见2.0cm皮肤挫伤，已结痂。", "左肘部可见2.0cm皮肤挫伤", True),  # the exam's description taken whole
    ("术后给予抗生素防感染。", "感染", True),  # a treatment's aim
    ("先予减轻神经根周围水肿药物20%甘露醇。", "水肿", True),
    ("长期使用促红素纠正肾性贫血。", "肾性贫血", False),  # 纠正 treats a named disease (EMR-RE)
    ("鼻部肿胀减轻后建议患者鼻骨骨折复位。", "鼻骨骨折", False),  # 减轻 of another clause
    ("10mg肌内注射可用于预防子痫发作。", "子痫", False),  # a textbook's disease prevented (CMeIE)
    ("精液常规检查回报：J-HD50%,A+B35%。", "HD", True),  # a lab value's label
    ("门诊以“TIA？”收入。", "TIA", False),
])
def test_a_subject_that_names_no_disease(text, name, none):
    from etl.notes.findings import names_no_disease

    start = text.index(name)
    assert names_no_disease(text, start, start + len(name)) is none


def test_a_departments_name_is_no_site_and_breath_sounds_or_the_pulse_no_test():
    text = "入院胃肠外科后诊断为急性胃肠炎。"
    assert site(text, "胃肠")
    assert not site("胃肠道多发息肉。", "胃肠道")
    assert exam_word("实验室检查", "呼吸音") and exam_word("辅助检查", "双肺呼吸音")
    assert states_normal("CP", "实验室检查", "CP", 2, "检查")


def test_a_negative_sign_a_patent_canal_and_supportive_care_are_no_findings_or_operations():
    assert symptom("移动性浊音阴性")
    assert site("外耳道通畅，无异常分泌物。", "外耳道")
    assert exam_word("手术治疗", "补液") and exam_word("手术治疗", "对症治疗") and not exam_word("辅助治疗", "补液")
    assert exam_word("手术治疗", "抗炎") and exam_word("手术治疗", "手术") and not exam_word("手术治疗", "阑尾切除术")
    assert exam_word("药物治疗", "左肘关节松懈术") and not exam_word("药物治疗", "头孢哌酮舒巴坦钠")


def test_descriptions_measuring_phrases_ecg_results_and_a_lab_tests_start_are_no_entities():
    assert exam_word("临床表现", "边缘模糊") and exam_word("临床表现", "测血压为")
    assert exam_word("辅助检查", "起搏心律") and not exam_word("辅助检查", "心电图")
    text = "血脂：甘油三酯2.1mmol/L；予甘油灌肠剂通便。"
    end = text.index("甘油") + 2
    assert states_normal(text, "药物治疗", "甘油", end, "药物")
    second = text.index("甘油", end) + 2
    assert not states_normal(text, "药物治疗", "甘油", second, "药物")


@pytest.mark.parametrize("predicate, obj, kind", [
    ("辅助检查", "腹平片", "影像学检查"),  # shared notes, history-241
    ("辅助检查", "彩超检查", "影像学检查"),
    ("实验室检查", "DR片", "影像学检查"),
    ("影像学检查", "心电图", "辅助检查"),
    ("实验室检查", "动态心电图", "辅助检查"),
    ("影像学检查", "胃镜", "内窥镜检查"),
    ("辅助检查", "超声肠镜", "内窥镜检查"),  # an endoscopy, though 超声
    ("实验室检查", "TCT", "实验室检查"),  # a cytology test, no CT
    ("实验室检查", "血常规", "实验室检查"),  # no kind by name: as answered
    ("组织学检查", "CT检查", "组织学检查"),  # left to exam_word, which leaves it out
    ("辅助检查", "PSA检测", "实验室检查"),  # a lab test's name
    ("药物治疗", "非那雄胺片", "药物治疗"),  # not a test
])
def test_a_tests_kind_follows_its_name(predicate, obj, kind):
    from etl.notes.findings import test_kind

    assert test_kind(predicate, obj) == kind


def test_a_vertebral_level_is_no_drug_and_the_exams_appearance_no_symptom():
    from etl.notes.findings import exam_word, states_normal

    text = "CT示：2.L5-S1椎间盘突出。"
    end = text.index("S1") + 2
    assert states_normal(text, "药物治疗", "S1", end, "药物")
    drug = "给予替吉奥(S1)口服。"
    assert not states_normal(drug, "药物治疗", "S1", drug.index("S1") + 2, "药物")  # the drug S-1
    assert exam_word("临床表现", "表情痛苦") and not exam_word("临床表现", "腹痛")
    assert exam_word("辅助治疗", "右膝关节置换术") and not exam_word("辅助治疗", "抗感染")  # an operation: 手术治疗
    assert exam_word("辅助治疗", "口服蜜炼") and exam_word("辅助治疗", "静点软组织修复药物")  # a route and a drug
    for words in ("体温最高达", "伸舌居中", "对光反射", "双肺呼吸音", "左足大踇趾为重", "压痛不明显", "指韧"):
        assert exam_word("临床表现", words), words
    assert not exam_word("临床表现", "不易咳出")  # an EMR-RE symptom
    assert exam_word("辅助治疗", "雾化吸入")  # a drug's route
    vitals = "查体；T36.4 C；P78次/分。病理分期T3N0M0。"
    assert states_normal(vitals, "阶段", "T3", vitals.index("T3") + 2, "其他")  # a temperature's first digits
    assert not states_normal(vitals, "阶段", "T3", vitals.index("T3N") + 2, "其他")  # a T stage
    exam = "患者老年女性62岁。右侧上下肢肌力Ⅳ级。"
    assert states_normal(exam, "阶段", "老年女性62岁", exam.index("岁") + 1, "其他")  # an age
    assert states_normal(exam, "阶段", "Ⅳ级", exam.index("Ⅳ级") + 2, "其他")  # a muscle's strength
    listed = "诊断为：1.慢性阻塞性肺疾病急性加重期2.高血压病3级。"
    assert states_normal(listed, "阶段", "高血压病3级", listed.index("3级") + 2, "其他")  # a disease with its grade
    assert not states_normal(listed, "阶段", "3级", listed.index("3级") + 2, "其他")  # the grade alone
    text = "3、5、7点有痔核，色青紫。局部青紫。"
    first, second = text.index("青紫"), text.rindex("青紫")
    assert states_normal(text, "临床表现", "青紫", first + 2, "症状")  # a lesion's colour
    assert not states_normal(text, "临床表现", "青紫", second + 2, "症状")  # a bruise

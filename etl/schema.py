"""The CMeIE schema: 11 entity types, 44 predicates, 53 allowed (subject type, predicate, object type).

This module is the whitelist of graph names: the node labels and relationship types below are the
only ones the graph code may ever emit (it interpolates them into Cypher, so they must never come
from data). Chinese names stay the keys of the data and the models; the English names are for the
graph. Each predicate also carries the two MRC questions the span extractor asks (multi-turn:
first the subjects of the relation, then the objects of one given subject).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SYNONYM_PREDICATE = "同义词"
# A label or relationship type we emit without backticks must match this (and not be a keyword).
CYPHER_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EntityType:
    name: str  # Chinese type name as in the data, e.g. 疾病
    label: str  # graph node label, e.g. Disease
    description: str  # English gloss, for the docs and `etl schema`
    query_noun: str  # short Chinese noun used in MRC queries (疾病, 症状, ...)


@dataclass(frozen=True)
class Predicate:
    name: str  # Chinese predicate, e.g. 临床表现
    rel_type: str  # graph relationship type, e.g. HAS_SYMPTOM
    description: str
    subject_query: str  # turn 1: "which subjects hold this relation?"
    object_query: str  # turn 2: "objects of this relation for {subject}" (contains "{subject}")
    is_synonym: bool = False


@dataclass(frozen=True)
class SchemaTriple:
    subject_type: str
    predicate: str
    object_type: str


# Chinese type -> (label, gloss, noun used in questions)
_ENTITY_TYPES = {
    "疾病": ("Disease", "disease", "疾病"),
    "症状": ("Symptom", "symptom or sign", "症状"),
    "药物": ("Drug", "drug", "药物"),
    "检查": ("Examination", "examination or test", "检查"),
    "手术治疗": ("Surgery", "surgical procedure", "手术"),
    "其他治疗": ("Treatment", "other (non-surgical, non-drug) treatment", "治疗方法"),
    "部位": ("BodyPart", "body part or site", "部位"),
    "流行病学": ("Epidemiology", "epidemiological fact (group, rate, age, region, ...)", "流行病学特征"),
    "社会学": ("SocialFactor", "cause, risk factor, history, mechanism", "因素"),
    "预后": ("Prognosis", "prognosis or survival", "预后"),
    "其他": ("Other", "other (prevention, stage, department)", "内容"),
}

# Chinese predicate -> (relationship type, gloss, subject question, object question)
_PREDICATES = {
    "预防": ("HAS_PREVENTION", "prevention measure", "哪些疾病提到了预防方法？", "{subject}的预防方法有哪些？"),
    "阶段": ("HAS_STAGE", "disease stage", "哪些疾病提到了分期或阶段？", "{subject}有哪些阶段或分期？"),
    "就诊科室": ("VISITS_DEPARTMENT", "clinical department", "哪些疾病提到了就诊科室？", "{subject}应到哪个科室就诊？"),
    "同义词": ("SYNONYM_OF", "synonym", "哪些名称有同义词或别名？", "{subject}的同义词或别名是什么？"),
    "辅助治疗": ("TREATED_WITH_THERAPY", "adjuvant or supportive therapy", "哪些疾病提到了辅助治疗？",
             "{subject}的辅助治疗方法有哪些？"),
    "化疗": ("TREATED_WITH_CHEMOTHERAPY", "chemotherapy", "哪些疾病提到了化疗？", "{subject}的化疗方案有哪些？"),
    "放射治疗": ("TREATED_WITH_RADIOTHERAPY", "radiotherapy", "哪些疾病提到了放射治疗？",
             "{subject}的放射治疗有哪些？"),
    "手术治疗": ("TREATED_WITH_SURGERY", "surgical treatment", "哪些疾病提到了手术治疗？",
             "{subject}的手术治疗方法有哪些？"),
    "实验室检查": ("HAS_LAB_TEST", "laboratory test", "哪些疾病提到了实验室检查？", "{subject}需要做哪些实验室检查？"),
    "影像学检查": ("HAS_IMAGING_TEST", "imaging test", "哪些疾病提到了影像学检查？", "{subject}需要做哪些影像学检查？"),
    "辅助检查": ("HAS_AUXILIARY_TEST", "auxiliary examination", "哪些疾病提到了辅助检查？",
             "{subject}的辅助检查有哪些？"),
    "组织学检查": ("HAS_HISTOLOGY_TEST", "histological examination", "哪些疾病提到了组织学检查？",
              "{subject}的组织学检查有哪些？"),
    "内窥镜检查": ("HAS_ENDOSCOPY", "endoscopy", "哪些疾病提到了内窥镜检查？", "{subject}需要做哪些内窥镜检查？"),
    "筛查": ("SCREENED_BY", "screening test", "哪些疾病提到了筛查？", "{subject}的筛查方法有哪些？"),
    "多发群体": ("AFFECTS_GROUP", "most affected population", "哪些疾病提到了多发人群？", "{subject}多发于哪些人群？"),
    "发病率": ("HAS_INCIDENCE", "incidence", "哪些疾病提到了发病率？", "{subject}的发病率是多少？"),
    "发病年龄": ("HAS_ONSET_AGE", "age of onset", "哪些疾病提到了发病年龄？", "{subject}的发病年龄是多少？"),
    "多发地区": ("PREVALENT_IN_REGION", "region of high prevalence", "哪些疾病提到了多发地区？",
             "{subject}多发于哪些地区？"),
    "发病性别倾向": ("HAS_SEX_PREDILECTION", "sex predilection", "哪些疾病提到了发病的性别倾向？",
               "{subject}的发病性别倾向是什么？"),
    "死亡率": ("HAS_MORTALITY", "mortality", "哪些疾病提到了死亡率？", "{subject}的死亡率是多少？"),
    "多发季节": ("PREVALENT_IN_SEASON", "season of high prevalence", "哪些疾病提到了多发季节？",
             "{subject}多发于哪些季节？"),
    "传播途径": ("TRANSMITTED_BY", "route of transmission", "哪些疾病提到了传播途径？", "{subject}的传播途径有哪些？"),
    "并发症": ("HAS_COMPLICATION", "complication", "哪些疾病提到了并发症？", "{subject}的并发症有哪些？"),
    "病理分型": ("HAS_PATHOLOGICAL_TYPE", "pathological subtype", "哪些疾病提到了病理分型？",
             "{subject}有哪些病理分型？"),
    "相关（导致）": ("LEADS_TO", "related: leads to", "哪些疾病会导致其他疾病？", "{subject}会导致哪些疾病？"),
    "鉴别诊断": ("HAS_DIFFERENTIAL_DIAGNOSIS", "differential diagnosis", "哪些疾病提到了鉴别诊断？",
             "{subject}需要与哪些疾病鉴别？"),
    "相关（转化）": ("TRANSFORMS_INTO", "related: transforms into", "哪些疾病会转化为其他疾病？",
               "{subject}会转化为哪些疾病？"),
    "相关（症状）": ("HAS_SYMPTOM_DISEASE", "related: disease presenting as a symptom",
               "哪些疾病以其他疾病为症状表现？", "{subject}表现为哪些相关疾病？"),
    "临床表现": ("HAS_SYMPTOM", "clinical manifestation", "哪些疾病提到了临床表现或症状？",
             "{subject}有哪些临床表现或症状？"),
    "治疗后症状": ("HAS_POST_TREATMENT_SYMPTOM", "symptom after treatment", "哪些疾病提到了治疗后的症状？",
              "{subject}治疗后有哪些症状？"),
    "侵及周围组织转移的症状": ("HAS_INVASION_SYMPTOM", "symptom of invasion or metastasis",
                    "哪些疾病提到了侵及周围组织或转移的症状？", "{subject}侵及周围组织或转移时有哪些症状？"),
    "病因": ("HAS_CAUSE", "cause", "哪些疾病提到了病因？", "{subject}的病因有哪些？"),
    "高危因素": ("HAS_RISK_FACTOR", "high-risk factor", "哪些疾病提到了高危因素？", "{subject}的高危因素有哪些？"),
    "风险评估因素": ("HAS_RISK_ASSESSMENT_FACTOR", "risk-assessment factor", "哪些疾病提到了风险评估因素？",
               "{subject}的风险评估因素有哪些？"),
    "病史": ("HAS_HISTORY", "relevant history", "哪些疾病提到了相关病史？", "{subject}相关的病史有哪些？"),
    "遗传因素": ("HAS_GENETIC_FACTOR", "genetic factor", "哪些疾病提到了遗传因素？", "{subject}的遗传因素有哪些？"),
    "发病机制": ("HAS_PATHOGENESIS", "pathogenesis", "哪些疾病提到了发病机制？", "{subject}的发病机制是什么？"),
    "病理生理": ("HAS_PATHOPHYSIOLOGY", "pathophysiology", "哪些疾病提到了病理生理？",
             "{subject}的病理生理改变有哪些？"),
    "药物治疗": ("TREATED_WITH_DRUG", "drug treatment", "哪些疾病提到了药物治疗？", "{subject}可以用哪些药物治疗？"),
    "发病部位": ("AFFECTS_SITE", "site of disease", "哪些疾病提到了发病部位？", "{subject}的发病部位在哪里？"),
    "转移部位": ("METASTASIZES_TO", "site of metastasis", "哪些疾病提到了转移部位？", "{subject}会转移到哪些部位？"),
    "外侵部位": ("INVADES_SITE", "site of local invasion", "哪些疾病提到了外侵部位？", "{subject}会侵犯哪些部位？"),
    "预后状况": ("HAS_PROGNOSIS", "prognosis", "哪些疾病提到了预后？", "{subject}的预后如何？"),
    "预后生存率": ("HAS_SURVIVAL_RATE", "survival rate", "哪些疾病提到了生存率？", "{subject}的生存率是多少？"),
}

# The 53 CMeIE schema lines (subject type, predicate, object type), in the order of CMeIE's
# 53_schemas.jsonl; tests check this table against that file.
SCHEMA_TRIPLES: tuple[tuple[str, str, str], ...] = (
    ("疾病", "预防", "其他"),
    ("疾病", "阶段", "其他"),
    ("疾病", "就诊科室", "其他"),
    ("其他", "同义词", "其他"),
    ("疾病", "辅助治疗", "其他治疗"),
    ("疾病", "化疗", "其他治疗"),
    ("疾病", "放射治疗", "其他治疗"),
    ("其他治疗", "同义词", "其他治疗"),
    ("疾病", "手术治疗", "手术治疗"),
    ("手术治疗", "同义词", "手术治疗"),
    ("疾病", "实验室检查", "检查"),
    ("疾病", "影像学检查", "检查"),
    ("疾病", "辅助检查", "检查"),
    ("疾病", "组织学检查", "检查"),
    ("检查", "同义词", "检查"),
    ("疾病", "内窥镜检查", "检查"),
    ("疾病", "筛查", "检查"),
    ("疾病", "多发群体", "流行病学"),
    ("疾病", "发病率", "流行病学"),
    ("疾病", "发病年龄", "流行病学"),
    ("疾病", "多发地区", "流行病学"),
    ("疾病", "发病性别倾向", "流行病学"),
    ("疾病", "死亡率", "流行病学"),
    ("疾病", "多发季节", "流行病学"),
    ("疾病", "传播途径", "流行病学"),
    ("流行病学", "同义词", "流行病学"),
    ("疾病", "同义词", "疾病"),
    ("疾病", "并发症", "疾病"),
    ("疾病", "病理分型", "疾病"),
    ("疾病", "相关（导致）", "疾病"),
    ("疾病", "鉴别诊断", "疾病"),
    ("疾病", "相关（转化）", "疾病"),
    ("疾病", "相关（症状）", "疾病"),
    ("疾病", "临床表现", "症状"),
    ("疾病", "治疗后症状", "症状"),
    ("疾病", "侵及周围组织转移的症状", "症状"),
    ("症状", "同义词", "症状"),
    ("疾病", "病因", "社会学"),
    ("疾病", "高危因素", "社会学"),
    ("疾病", "风险评估因素", "社会学"),
    ("疾病", "病史", "社会学"),
    ("疾病", "遗传因素", "社会学"),
    ("社会学", "同义词", "社会学"),
    ("疾病", "发病机制", "社会学"),
    ("疾病", "病理生理", "社会学"),
    ("疾病", "药物治疗", "药物"),
    ("药物", "同义词", "药物"),
    ("疾病", "发病部位", "部位"),
    ("疾病", "转移部位", "部位"),
    ("疾病", "外侵部位", "部位"),
    ("部位", "同义词", "部位"),
    ("疾病", "预后状况", "预后"),
    ("疾病", "预后生存率", "预后"),
)


class Schema:
    """Entity types, predicates and the allowed triples, loaded from a CMeIE `53_schemas.jsonl`."""

    def __init__(self, triples: list[SchemaTriple]):
        self.triples: tuple[SchemaTriple, ...] = tuple(triples)
        type_names = sorted({t.subject_type for t in triples} | {t.object_type for t in triples})
        unknown = [n for n in type_names if n not in _ENTITY_TYPES]
        unknown += [t.predicate for t in triples if t.predicate not in _PREDICATES]
        if unknown:
            raise ValueError(f"schema file names types/predicates with no graph name: {sorted(set(unknown))}")
        self.entity_types: dict[str, EntityType] = {
            n: EntityType(n, *_ENTITY_TYPES[n]) for n in type_names
        }
        # Predicate order = first appearance in the schema file: the model's label order.
        names = list(dict.fromkeys(t.predicate for t in triples))
        self.predicates: dict[str, Predicate] = {
            n: Predicate(n, *_PREDICATES[n], is_synonym=(n == SYNONYM_PREDICATE)) for n in names
        }
        self.predicate_names: tuple[str, ...] = tuple(names)
        self._allowed = {(t.subject_type, t.predicate, t.object_type) for t in triples}

    @classmethod
    def from_jsonl(cls, path: str | Path) -> "Schema":
        triples = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    triples.append(SchemaTriple(row["subject_type"], row["predicate"], row["object_type"]))
                except (ValueError, KeyError) as error:
                    raise ValueError(f"{path}:{number}: not a schema line ({error})") from None
        return cls(triples)

    def allows(self, subject_type: str, predicate: str, object_type: str) -> bool:
        return (subject_type, predicate, object_type) in self._allowed

    def types_for(self, predicate: str) -> list[tuple[str, str]]:
        """The (subject type, object type) pairs a predicate may link (同义词 has 10)."""
        return [(t.subject_type, t.object_type) for t in self.triples if t.predicate == predicate]

    def label(self, entity_type: str) -> str:
        """Whitelisted node label for a Chinese entity type; KeyError for anything else."""
        return self.entity_types[entity_type].label

    def rel_type(self, predicate: str) -> str:
        """Whitelisted relationship type for a Chinese predicate; KeyError for anything else."""
        return self.predicates[predicate].rel_type

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(t.label for t in self.entity_types.values())

    @property
    def rel_types(self) -> tuple[str, ...]:
        return tuple(p.rel_type for p in self.predicates.values())

    def subject_query(self, predicate: str) -> str:
        return self.predicates[predicate].subject_query

    def object_query(self, predicate: str, subject: str) -> str:
        return self.predicates[predicate].object_query.format(subject=subject)


@lru_cache(maxsize=None)
def load_schema(path: str | None = None) -> Schema:
    """The built-in CMeIE schema, or the one in another `53_schemas.jsonl`-format file."""
    if path:
        return Schema.from_jsonl(path)
    return Schema([SchemaTriple(*row) for row in SCHEMA_TRIPLES])

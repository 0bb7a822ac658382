"""The agent's memory tools: ``retrieve`` (search the image index, zero-shot labels with
CLIP) and ``remember`` (store a fact with its evidence)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from lensmith.memory.search import Searcher, SearchResult
from lensmith.memory.store import current_memory, current_session_id
from lensmith.runtime.artifacts import FactArtifact, RetrievalHit, RetrieveArtifact
from lensmith.runtime.base import LensmithTool
from lensmith.runtime.errors import InvalidArguments
from lensmith.runtime.images import current_store
from lensmith.tools.clip import clip_status, load_clip


class RetrieveArgs(BaseModel):
    query: str | None = Field(None, description="Words describing the photos to find ('a cat on a sofa')")
    image: str | None = Field(
        None, description="Image id (img:…) or path: find similar photos, or label it with `labels`"
    )
    labels: list[str] | None = Field(
        None, description="With `image`: score the image against these labels with CLIP (zero-shot)"
    )
    label: str | None = Field(None, description="Only photos where the detector saw this object ('person')")
    has_text: bool | None = Field(None, description="Only photos with (true) or without (false) readable text")
    limit: int = Field(5, ge=1, le=50, description="How many photos to return")

    @model_validator(mode="after")
    def _something(self) -> RetrieveArgs:
        if not (self.query or self.image or self.label or self.has_text is not None):
            raise ValueError("give a query, an image, or a filter (label, has_text)")
        if self.labels is not None and not self.image:
            raise ValueError("labels (zero-shot) needs an image")
        return self


class RetrieveTool(LensmithTool):
    name: str = "retrieve"
    description: str = (
        "Search the user's indexed photos and images seen in earlier chats: by words (query), by "
        "similarity to an image, or by filters (label = an object the detector saw, has_text). "
        "With image + labels, scores the image against the labels with CLIP (zero-shot). Returns "
        "paths, scores and why each matched."
    )
    args_schema: type[BaseModel] = RetrieveArgs

    def backend(self) -> str:
        return f"Chroma memory; text: MiniLM over what the tools saw; {clip_status()}"

    def run_tool(
        self, query: str | None = None, image: str | None = None, labels: list[str] | None = None,
        label: str | None = None, has_text: bool | None = None, limit: int = 5,
    ) -> tuple[str, RetrieveArtifact]:
        if labels is not None:
            return self._zero_shot(image or "", labels)
        store = current_memory()
        searcher = Searcher(store)
        filters = [label] if label else None
        image_id = None
        if image:
            meta = current_store().get(image)
            image_id = meta.id
            path = str(current_store().file(meta.id))
            result = searcher.by_image(path, labels=filters, has_text=has_text, limit=limit)
        elif query:
            result = searcher.by_text(query, labels=filters, has_text=has_text, limit=limit)
        else:
            result = searcher.by_filter(labels=filters, has_text=has_text, limit=limit)
        artifact = _artifact(result, query, image_id)
        return _content(result, query or image or "filters"), artifact

    def _zero_shot(self, image: str, labels: list[str]) -> tuple[str, RetrieveArtifact]:
        labels = [lab.strip() for lab in labels if lab.strip()]
        if len(labels) < 2:
            raise InvalidArguments("Zero-shot labelling needs at least two labels to choose between")
        clip = load_clip(self.device)  # ToolUnavailable, with where it looked, when none is found
        meta = current_store().get(image)
        scores = clip.zero_shot(current_store().pil(meta.id), labels)
        best = max(scores, key=scores.__getitem__)
        note = "randomly initialised CLIP (a test model): scores are not measurements" if clip.random_init else None
        artifact = RetrieveArtifact(
            tool=self.name, image=meta.id, method="clip-zero-shot", model=clip.name, note=note,
            label_scores=scores,
        )
        ranked = ", ".join(f"{k} {v:.2f}" for k, v in sorted(scores.items(), key=lambda kv: -kv[1]))
        return f"CLIP zero-shot on {meta.id}: {ranked} (best: {best})", artifact


def _artifact(result: SearchResult, query: str | None, image_id: str | None) -> RetrieveArtifact:
    return RetrieveArtifact(
        tool="retrieve", image=image_id, method=result.method,
        method_kind=result.method_kind,  # type: ignore[arg-type]
        model=None, note=result.note or None, query=query,
        hits=[RetrievalHit(image_id=h.image_id, path=h.path, score=round(h.score, 4), why=h.why) for h in result.hits],
    )


def _content(result: SearchResult, what: str) -> str:
    if not result.hits:
        text = f"No indexed photos match {what!r}."
        if result.note:
            text += f" ({result.note})"
        return text + " (`lensmith index DIR` adds photo folders to the index.)"
    lines = [f"{len(result.hits)} photo(s) for {what!r} [{result.method}]:"]
    lines += [f"{i}. {h.path} (score {h.score:.3f}; {h.why})" for i, h in enumerate(result.hits, 1)]
    if result.note:
        lines.append(f"Note: {result.note}")
    return "\n".join(lines)


class RememberArgs(BaseModel):
    fact: str = Field(description="One short statement worth remembering across sessions")
    evidence: list[str] = Field(
        default_factory=list, description="Where it came from: image ids, tool call ids, or a quote"
    )


class RememberTool(LensmithTool):
    name: str = "remember"
    description: str = (
        "Store a short fact for later sessions (e.g. 'The receipt from 3 May totals $42.10'), with "
        "the evidence it came from. Use only for facts the user will want recalled."
    )
    args_schema: type[BaseModel] = RememberArgs

    def backend(self) -> str:
        return "Chroma memory (facts collection, MiniLM embeddings)"

    def run_tool(self, fact: str, evidence: list[str] | None = None, **_: Any) -> tuple[str, FactArtifact]:
        if not fact.strip():
            raise InvalidArguments("The fact to remember is empty")
        evidence = [e for e in (evidence or []) if str(e).strip()]
        fact_id = current_memory().add_fact(fact, evidence=evidence, session_id=current_session_id())
        artifact = FactArtifact(
            tool=self.name, method="chroma", method_kind="measurement", fact=fact.strip(), evidence=evidence,
            note=fact_id,
        )
        return f"Remembered ({fact_id}): {fact.strip()}", artifact

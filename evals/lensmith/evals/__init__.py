"""lensmith's evals: POPE, CHAIR and tool use, on shipped offline data (real photos with
hand-written ground truth and seeded composite scenes) or on the public sets when the
user has them. Run them with ``lensmith eval pope|chair|tools``; see evals/RESULTS.md."""

"""The reward service: a reward reasoner behind HTTP on Ray Serve (``python -m gram_rr.serve``).

- :mod:`gram_rr.serve.cli`: the command and its flags;
- :mod:`gram_rr.serve.deployment`: the Ray Serve deployment (replicas, health checks);
- :mod:`gram_rr.serve.service`: one replica's judge, with concurrent requests merged into batches;
- :mod:`gram_rr.serve.routes`: the endpoints (FastAPI) and their error statuses;
- :mod:`gram_rr.serve.schema`: request validation and verdicts as JSON;
- :mod:`gram_rr.serve.openrlhf`: OpenRLHF's ``/get_reward`` queries cut into question and response;
- :mod:`gram_rr.serve.reward`: ``/get_reward``'s opponents (the label, or earlier responses to the prompt) and rewards;
- :mod:`gram_rr.serve.client`: :class:`RemoteJudge`, a pair judge that calls the service;
- :mod:`gram_rr.serve.launch`, :mod:`gram_rr.serve.loadtest`: the service as a subprocess, and a load test.

Importing this package loads neither Ray nor an engine.
"""

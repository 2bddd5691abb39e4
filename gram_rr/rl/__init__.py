"""Rewards for reinforcement learning with a pairwise judge (TRL ``GRPOTrainer`` reward functions)."""

from gram_rr.rl.group_reward import GroupJudgeReward, GroupRewardConfig, PairComparer

__all__ = ["GroupJudgeReward", "GroupRewardConfig", "PairComparer"]

-- 008_digest_groups: a digest for a group of accounts as one post.
--
-- group_name null: one post per account of the digest's scope (as 007).
-- group_name set: one post for the scope's accounts together, named so:
-- the metrics of their trades merged in close-time order, the period
-- opening at the sum of their opening balances (unknown when any one's
-- is), {{account}} being the group's name. Only daily and weekly digests
-- have figures to group; a message posts once anyway.
alter table digests add column group_name text
    check (group_name is null or (length(group_name) between 1 and 64
                                  and group_name !~ '[[:cntrl:]]'));
alter table digests add constraint digests_group_needs_figures
    check (group_name is null or kind <> 'message');

//! The reads behind the staff dashboard (inbox views, notes, search, accounts, sessions,
//! templates, settings), expanded inside each backend's `q` module by `define_backend!` so
//! they share its row mappers. Inbox filters are composed with `QueryBuilder` so each view
//! gets plain predicates the planner can use indexes for.

macro_rules! staff_reads {
    () => {
        /// Appends the WHERE clause of an inbox view (always starting with `WHERE 1 = 1`).
        fn push_inbox_filter(b: &mut sqlx::QueryBuilder<Db>, query: &ConversationQuery) {
            b.push(" WHERE 1 = 1");
            if !query.statuses.is_empty() {
                b.push(" AND c.status IN (");
                let mut sep = b.separated(", ");
                for s in &query.statuses {
                    sep.push_bind(s.as_str());
                }
                b.push(")");
            }
            match query.assignee {
                crate::AssigneeFilter::Anyone => {}
                crate::AssigneeFilter::Unassigned => {
                    b.push(" AND c.assignee_id IS NULL");
                }
                crate::AssigneeFilter::User(id) => {
                    b.push(" AND c.assignee_id = ").push_bind(id);
                }
            }
            if let Some(d) = query.department {
                b.push(" AND c.department_id = ").push_bind(d);
            }
            if let Some(within) = &query.within_departments {
                if within.is_empty() {
                    b.push(" AND 1 = 0");
                } else {
                    b.push(" AND c.department_id IN (");
                    let mut sep = b.separated(", ");
                    for d in within {
                        sep.push_bind(*d);
                    }
                    b.push(")");
                }
            }
            if query.urgent_only {
                b.push(" AND c.urgent = ").push_bind(true);
            }
            if let Some(before) = query.before {
                b.push(" AND c.last_message_at < ").push_bind(ms(before));
            }
        }

        /// `ORDER BY` of an inbox view (the same in the id page and the joined result).
        fn inbox_order(order: crate::InboxOrder) -> &'static str {
            match order {
                // Ties at the same millisecond are ordered by id so pages are stable.
                crate::InboxOrder::Newest => " ORDER BY c.last_message_at DESC, c.id DESC",
                crate::InboxOrder::LongestWaiting => {
                    " ORDER BY CASE WHEN c.waiting_since IS NULL THEN 1 ELSE 0 END, c.waiting_since, \
                     c.last_message_at DESC, c.id DESC"
                }
            }
        }

        pub(crate) async fn list_conversations<'e, E>(
            ex: E,
            vault: &Vault,
            query: &ConversationQuery,
        ) -> StoreResult<Vec<ConversationSummary>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            // The page's ids first, from the conversations table alone (a covering index
            // serves the common views); only those few rows are then joined to their
            // thread, contact, number, patient and newest message. Joining first would
            // build every matching row before the LIMIT.
            let mut b = sqlx::QueryBuilder::<Db>::new(concat!(
                summary_select!(),
                " WHERE c.id IN (SELECT c.id FROM conversations c"
            ));
            push_inbox_filter(&mut b, query);
            b.push(inbox_order(query.order));
            b.push(" LIMIT ").push_bind(i64::from(query.limit));
            b.push(" OFFSET ").push_bind(i64::from(query.offset));
            b.push(")");
            b.push(inbox_order(query.order));
            let rows = b.build().fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| map_summary(r, vault))
        }

        pub(crate) async fn count_conversations<'e, E>(ex: E, query: &ConversationQuery) -> StoreResult<i64>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let mut b = sqlx::QueryBuilder::<Db>::new("SELECT COUNT(*) AS n FROM conversations c");
            push_inbox_filter(&mut b, query);
            let row = b.build().fetch_one(ex).await.map_err(db_err)?;
            get(&row, "", "n")
        }

        pub(crate) async fn contact_conversations<'e, E>(
            ex: E,
            vault: &Vault,
            contact_id: Uuid,
        ) -> StoreResult<Vec<ConversationSummary>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(concat!(
                summary_select!(),
                " WHERE t.contact_id = $1 ORDER BY c.last_message_at DESC, c.id DESC LIMIT 200"
            ))
            .bind(contact_id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| map_summary(r, vault))
        }

        pub(crate) async fn patient_conversations<'e, E>(
            ex: E,
            vault: &Vault,
            patient_id: Uuid,
        ) -> StoreResult<Vec<ConversationSummary>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(concat!(
                summary_select!(),
                " WHERE c.patient_id = $1 ORDER BY c.last_message_at DESC, c.id DESC LIMIT 200"
            ))
            .bind(patient_id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| map_summary(r, vault))
        }

        pub(crate) async fn thread_notes<'e, E>(ex: E, vault: &Vault, thread_id: Uuid) -> StoreResult<Vec<Note>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT id, conversation_id, thread_id, author_id, body, created_at FROM notes \
                 WHERE thread_id = $1 ORDER BY created_at, id",
            )
            .bind(thread_id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| map_note(r, vault))
        }

        pub(crate) async fn contact_by_id_read<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<Contact>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(concat!("SELECT ", contact_cols!(), " FROM contacts WHERE id = $1"))
                .bind(id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            one(row, |r| map_contact(r, ""))
        }

        pub(crate) async fn patients_for_contact<'e, E>(
            ex: E,
            vault: &Vault,
            contact_id: Uuid,
        ) -> StoreResult<Vec<Patient>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT p.id, p.details, p.status, p.created_at FROM patients p \
                 JOIN contact_patients cp ON cp.patient_id = p.id WHERE cp.contact_id = $1 \
                 ORDER BY p.created_at, p.id",
            )
            .bind(contact_id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| map_patient(r, vault))
        }

        pub(crate) async fn patients_by_mrn<'e, E>(ex: E, vault: &Vault, mrn: &str) -> StoreResult<Vec<Patient>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(concat!(
                "SELECT ",
                patient_cols!(),
                " FROM patients WHERE mrn_index = $1 ORDER BY created_at, id LIMIT 50"
            ))
            .bind(vault.blind_index(crate::common::MRN_INDEX, mrn))
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| map_patient(r, vault))
        }

        /// `SELECT owner FROM table` rows holding every token: the first token's postings are
        /// walked newest first (ids are UUIDv7, so id order is time order) and each is kept
        /// if the other tokens have it too (`EXISTS` probes of the primary key), stopping at
        /// `limit`. A common word then costs `limit` probes, not a scan of all its postings.
        fn push_term_match(b: &mut sqlx::QueryBuilder<Db>, table: &str, owner: &str, tokens: &[String], limit: u32) {
            b.push(format!("SELECT t0.{owner} FROM {table} t0 WHERE t0.term = "));
            b.push_bind(tokens[0].clone());
            for (i, t) in tokens.iter().enumerate().skip(1) {
                b.push(format!(
                    " AND EXISTS (SELECT 1 FROM {table} t{i} WHERE t{i}.{owner} = t0.{owner} AND t{i}.term = "
                ));
                b.push_bind(t.clone());
                b.push(")");
            }
            b.push(format!(" ORDER BY t0.{owner} DESC LIMIT "));
            b.push_bind(i64::from(limit));
        }

        fn term_tokens(vault: &Vault, terms: &[String]) -> Vec<String> {
            let mut tokens: Vec<String> =
                terms.iter().map(|t| crate::common::statement::term_token(vault, t)).collect();
            tokens.sort();
            tokens.dedup();
            tokens
        }

        pub(crate) async fn search_messages<'e, E>(
            ex: E,
            vault: &Vault,
            terms: &[String],
            limit: u32,
        ) -> StoreResult<Vec<Message>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            let tokens = term_tokens(vault, terms);
            let mut b =
                sqlx::QueryBuilder::<Db>::new(concat!("SELECT ", message_cols!(), " FROM messages WHERE id IN ("));
            push_term_match(&mut b, "message_terms", "message_id", &tokens, limit);
            b.push(") ORDER BY created_at DESC, id DESC");
            let rows = b.build().fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| map_message(r, vault))
        }

        pub(crate) async fn search_patients<'e, E>(
            ex: E,
            vault: &Vault,
            terms: &[String],
            limit: u32,
        ) -> StoreResult<Vec<Patient>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            let tokens = term_tokens(vault, terms);
            let mut b =
                sqlx::QueryBuilder::<Db>::new(concat!("SELECT ", patient_cols!(), " FROM patients WHERE id IN ("));
            push_term_match(&mut b, "patient_terms", "patient_id", &tokens, limit);
            b.push(") ORDER BY created_at, id");
            let rows = b.build().fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| map_patient(r, vault))
        }

        pub(crate) async fn list_users<'e, E>(ex: E) -> StoreResult<Vec<User>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users ORDER BY name, email"))
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
            all(rows, map_user)
        }

        pub(crate) async fn user_security<'e, E>(ex: E, vault: &Vault, user_id: Uuid) -> StoreResult<UserSecurity>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(crate::common::statement::USER_SECURITY)
                .bind(user_id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            match row {
                Some(r) => map_user_security(&r, vault, user_id),
                None => Err(StoreError::Other(format!("user {user_id} does not exist"))),
            }
        }

        pub(crate) async fn user_departments<'e, E>(ex: E, user_id: Uuid) -> StoreResult<Vec<Uuid>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows =
                sqlx::query("SELECT department_id FROM user_departments WHERE user_id = $1 ORDER BY department_id")
                    .bind(user_id)
                    .fetch_all(ex)
                    .await
                    .map_err(db_err)?;
            all(rows, |r| get(r, "", "department_id"))
        }

        pub(crate) async fn unused_recovery_codes<'e, E>(ex: E, user_id: Uuid) -> StoreResult<i64>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id)
                .fetch_one(ex)
                .await
                .map_err(db_err)?;
            get(&row, "", "n")
        }

        pub(crate) async fn session_by_hash<'e, E>(ex: E, id_hash: &str) -> StoreResult<Option<Session>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(
                "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, mfa_verified, ip \
                 FROM sessions WHERE id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(ex)
            .await
            .map_err(db_err)?;
            one(row, map_session)
        }

        pub(crate) async fn list_templates<'e, E>(ex: E) -> StoreResult<Vec<Template>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query("SELECT id, name, body, created_at, updated_at FROM templates ORDER BY name")
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
            all(rows, map_template)
        }

        pub(crate) async fn setting<'e, E>(ex: E, key: &str) -> StoreResult<Option<String>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            one(row, |r| get(r, "", "value"))
        }
    };
}

pub(crate) use staff_reads;

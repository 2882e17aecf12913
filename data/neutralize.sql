-- a copied database must not talk to Basware: deactivate the backends, drop their
-- cached access tokens and stop the connector's scheduled actions
UPDATE basware_backend
   SET active = false,
       token_encrypted = NULL;

UPDATE ir_cron
   SET active = false
 WHERE id IN (
       SELECT res_id
         FROM ir_model_data
        WHERE model = 'ir.cron'
          AND module = 'basware_connector'
)
    OR ir_actions_server_id IN (
       SELECT id
         FROM ir_act_server
        WHERE code LIKE '%basware%'
);
